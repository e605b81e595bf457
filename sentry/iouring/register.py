"""io_uring_register(2): the probe, fixed files and fixed buffers.

An opcode without a handler fails with EINVAL, which is what a kernel that
does not know the opcode returns, so callers fall back instead of relying on
it.
"""
import errno
import struct

from pysentry.sentry import creds
from pysentry.sentry.iouring import (abi, cancel, dataplane, eventfd, filetable, iowq, kbuf, memregion,
                                     msg_ring, napi, personality, resize, restrictions, rsrc,
                                     tctx)
from pysentry.sentry.iouring.enter import SUPPORTED_ENTER_FLAGS, lookup_ring
from pysentry.sentry.iouring.setup import FEATURES, SUPPORTED_SETUP_FLAGS
from pysentry.sentry.iouring.opdef import OPS
from pysentry.sentry.syscalls import numbers

_PROBE_HEAD = struct.Struct("<BBH3I")     # last_op, ops_len, resv, resv2[3]
_PROBE_OP = struct.Struct("<BBHI")        # op, resv, flags, resv2


def _probe(kernel, task, ring, arg, nr_args):
    nr = min(nr_args, abi.OP_LAST)
    size = _PROBE_HEAD.size + nr * _PROBE_OP.size
    raw = task.mem.read(arg, size)
    if any(raw):
        raise OSError(errno.EINVAL, "probe buffer must be zeroed")
    out = bytearray(_PROBE_HEAD.pack(abi.OP_LAST - 1, nr, 0, 0, 0, 0))
    for op in range(nr):
        out += _PROBE_OP.pack(op, 0, abi.IO_URING_OP_SUPPORTED if op in OPS else 0, 0)
    task.mem.write(arg, out)
    return 0


_CLOCK = struct.Struct("<I3I")           # struct io_uring_clock_register
CLOCK_MONOTONIC, CLOCK_BOOTTIME = 1, 7
CAP_NET_ADMIN = 12


def _register_clock(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_CLOCK: the clock of the ring's wait timeouts
    (IORING_ENTER_ABS_TIMER deadlines; enter.py)."""
    if not arg or nr_args:
        raise OSError(errno.EINVAL, "bad arguments")
    clockid, *resv = _CLOCK.unpack(task.mem.read(arg, _CLOCK.size))
    if any(resv) or clockid not in (CLOCK_MONOTONIC, CLOCK_BOOTTIME):
        raise OSError(errno.EINVAL, "unsupported clock")
    ring.clockid = clockid
    return 0


_ZCRX_IFQ_REG_SIZE = 96       # struct io_uring_zcrx_ifq_reg
_ZCRX_REGION_PTR = 24         # its region_ptr (struct io_uring_region_desc *)


def _register_zcrx_ifq(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_ZCRX_IFQ: a zero-copy receive queue needs a NIC queue
    the Sentry cannot hand out.  io_register_zcrx_ifq() checks
    CAP_NET_ADMIN, refuses a ring without DEFER_TASKRUN and 32-byte CQEs
    (CQE32 or CQE_MIXED) with EINVAL, then copies the registration and its
    region descriptor (EFAULT); past that the Sentry answers EINVAL, as for
    an interface without a capable queue (docs/io_uring.md, differences)."""
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    if not creds.of_task(task.tid).cap_eff >> CAP_NET_ADMIN & 1:
        raise OSError(errno.EPERM, "needs CAP_NET_ADMIN")
    if (not ring.flags & abi.SETUP_DEFER_TASKRUN
            or not ring.flags & (abi.SETUP_CQE32 | abi.SETUP_CQE_MIXED)):
        raise OSError(errno.EINVAL, "needs DEFER_TASKRUN and 32-byte CQEs")
    try:
        reg = task.mem.read(arg, _ZCRX_IFQ_REG_SIZE)
        region = struct.unpack_from("<Q", reg, _ZCRX_REGION_PTR)[0]
        task.mem.read(region, memregion.DESC_SIZE)
    except OSError:
        raise OSError(errno.EFAULT, "unreadable registration") from None
    raise OSError(errno.EINVAL, "no capable NIC queue")


# IORING_REGISTER_QUERY (io_uring/query.c): a chain of headers, each naming
# a query and a buffer for its answer.  Only IO_URING_QUERY_OPCODES exists,
# as in 6.18; it reports what the Sentry serves, not what the host has.
_QUERY_HDR = struct.Struct("<QQIIi3I")   # next_entry, query_data, query_op, size, result, resv
_QUERY_OPCODES = struct.Struct("<IIQQQQII")
_QUERY_MAX_ENTRIES = 1000
_NR_QUERY_OPS = 1


def _query(kernel, task, ring, arg, nr_args):
    if nr_args:
        raise OSError(errno.EINVAL, "nr_args must be 0")
    nr = 0
    while arg:
        next_entry, data, op, size, result, *resv = _QUERY_HDR.unpack(
            task.mem.read(arg, _QUERY_HDR.size))
        answer = b""
        if op >= _NR_QUERY_OPS:
            result = -errno.EOPNOTSUPP
        elif any(resv) or result or not size:
            result = -errno.EINVAL
        else:
            task.mem.read(data, min(size, _QUERY_OPCODES.size))    # EFAULT as Linux's copy-in
            answer = _QUERY_OPCODES.pack(abi.OP_LAST, abi.REGISTER_LAST, FEATURES,
                                         SUPPORTED_SETUP_FLAGS, SUPPORTED_ENTER_FLAGS,
                                         abi.IOSQE_ALL, _NR_QUERY_OPS, 0)
            result = 0
        # The answer, cut to the caller's size and zero-filled past its end.
        out = answer[:size].ljust(size, b"\0")
        if out:
            task.mem.write(data, out)
        task.mem.write(arg, _QUERY_HDR.pack(next_entry, data, op, min(size, len(answer)),
                                            result, *resv))
        arg = next_entry
        nr += 1
        if nr >= _QUERY_MAX_ENTRIES:
            raise OSError(errno.ERANGE, "query chain too long")
    return 0


def _send_msg_ring(kernel, task, arg, nr_args):
    """IORING_REGISTER_SEND_MSG_RING without a ring (fd -1): a MSG_RING SQE
    run at once, MSG_DATA only (io_uring_sync_msg_ring)."""
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    sqe = abi.SQE.unpack(task.mem.read(arg, abi.SQE_SIZE))
    req = msg_ring.SyncMsg(sqe)
    if sqe[1] or sqe[0] != abi.OP_MSG_RING:
        raise OSError(errno.EINVAL, "not a flagless MSG_RING SQE")
    msg_ring.prep(req)
    if req.addr != msg_ring.MSG_DATA:
        raise OSError(errno.EINVAL, "only MSG_DATA")
    target = kernel.ring_of(task, sqe[3])       # EBADF if not open
    if target is None:
        raise OSError(errno.EBADFD, "not an io_uring")
    res = msg_ring.send_data(req, target)
    if res < 0:
        raise OSError(-res, "msg_ring")
    return res


def _register_blind(kernel, task, opcode, arg, nr_args):
    """Opcodes that need no ring, called with fd -1 (io_uring_register_blind)."""
    if opcode == abi.REGISTER_SEND_MSG_RING:
        return _send_msg_ring(kernel, task, arg, nr_args)
    if opcode == abi.REGISTER_QUERY:
        return _query(kernel, task, None, arg, nr_args)
    raise OSError(errno.EINVAL, "needs a ring")


HANDLERS = {
    0: rsrc.register_buffers,               # IORING_REGISTER_BUFFERS
    1: rsrc.unregister_buffers,             # IORING_UNREGISTER_BUFFERS
    2: filetable.register_files,            # IORING_REGISTER_FILES
    3: filetable.unregister_files,          # IORING_UNREGISTER_FILES
    4: eventfd.register_eventfd,            # IORING_REGISTER_EVENTFD
    5: eventfd.unregister_eventfd,          # IORING_UNREGISTER_EVENTFD
    6: filetable.files_update,              # IORING_REGISTER_FILES_UPDATE
    7: eventfd.register_eventfd_async,      # IORING_REGISTER_EVENTFD_ASYNC
    abi.REGISTER_PROBE: _probe,             # 8
    9: personality.register_personality,    # IORING_REGISTER_PERSONALITY
    10: personality.unregister_personality,  # IORING_UNREGISTER_PERSONALITY
    11: restrictions.register_restrictions,  # IORING_REGISTER_RESTRICTIONS
    12: restrictions.enable_rings,          # IORING_REGISTER_ENABLE_RINGS
    13: filetable.register_files2,          # IORING_REGISTER_FILES2
    14: filetable.files_update2,            # IORING_REGISTER_FILES_UPDATE2
    15: rsrc.register_buffers2,             # IORING_REGISTER_BUFFERS2
    16: rsrc.buffers_update,                # IORING_REGISTER_BUFFERS_UPDATE
    abi.REGISTER_RING_FDS: tctx.register_ring_fds,        # 20
    abi.UNREGISTER_RING_FDS: tctx.unregister_ring_fds,    # 21
    22: kbuf.register_pbuf_ring,            # IORING_REGISTER_PBUF_RING
    23: kbuf.unregister_pbuf_ring,          # IORING_UNREGISTER_PBUF_RING
    24: cancel.register_sync_cancel,        # IORING_REGISTER_SYNC_CANCEL
    25: filetable.register_file_alloc_range,  # IORING_REGISTER_FILE_ALLOC_RANGE
    26: kbuf.pbuf_status,                   # IORING_REGISTER_PBUF_STATUS
    17: iowq.register_iowq_aff,             # IORING_REGISTER_IOWQ_AFF
    18: iowq.unregister_iowq_aff,           # IORING_UNREGISTER_IOWQ_AFF
    19: iowq.register_iowq_max_workers,     # IORING_REGISTER_IOWQ_MAX_WORKERS
    27: napi.register_napi,                 # IORING_REGISTER_NAPI
    28: napi.unregister_napi,               # IORING_UNREGISTER_NAPI
    29: _register_clock,                    # IORING_REGISTER_CLOCK
    30: rsrc.clone_buffers,                 # IORING_REGISTER_CLONE_BUFFERS
    32: _register_zcrx_ifq,                 # IORING_REGISTER_ZCRX_IFQ
    33: resize.resize_rings,                # IORING_REGISTER_RESIZE_RINGS
    34: memregion.register_mem_region,      # IORING_REGISTER_MEM_REGION
    abi.REGISTER_QUERY: _query,             # 35
}


def _no_arg(arg, nr):
    return -errno.EINVAL if arg or nr else 0


def _one(arg, nr):
    return -errno.EINVAL if not arg or nr != 1 else 0


# What io_uring_register(2) checks of arg and nr_args per opcode before the
# opcode's own work, in Linux's __io_uring_register(): an error here comes
# before any EFAULT from reading arg.
ARG_CHECKS = {
    0: lambda arg, nr: 0 if arg else -errno.EFAULT,        # BUFFERS
    1: _no_arg,                                            # UNREGISTER_BUFFERS
    2: lambda arg, nr: 0 if arg else -errno.EFAULT,        # FILES
    3: _no_arg,                                            # UNREGISTER_FILES
    4: lambda arg, nr: -errno.EINVAL if nr != 1 else 0,    # EVENTFD
    5: _no_arg,                                            # UNREGISTER_EVENTFD
    6: lambda arg, nr: -errno.EINVAL if not nr else 0,     # FILES_UPDATE (io_register_files_update)
    7: lambda arg, nr: -errno.EINVAL if nr != 1 else 0,    # EVENTFD_ASYNC
    8: lambda arg, nr: -errno.EINVAL if not arg or nr > 256 else 0,   # PROBE
    9: _no_arg,                                            # PERSONALITY
    10: lambda arg, nr: -errno.EINVAL if arg else 0,       # UNREGISTER_PERSONALITY
    12: _no_arg,                                           # ENABLE_RINGS
    22: _one,                                              # PBUF_RING
    23: _one,                                              # UNREGISTER_PBUF_RING
    24: _one,                                              # SYNC_CANCEL
    25: lambda arg, nr: -errno.EINVAL if not arg or nr else 0,        # FILE_ALLOC_RANGE
    26: _one,                                              # PBUF_STATUS
}


def sys_io_uring_register(kernel, task, stop):
    res = _register(kernel, task, stop)
    if kernel.io_uring.trace is None:
        return res
    if not isinstance(res, int):
        return _traced(kernel, task, stop, res)     # it injects syscalls first (resize.py)
    kernel.io_uring.trace.register(task, stop.args[1] & 0xFFFFFFFF,
                                   stop.args[3] & 0xFFFFFFFF, res)
    return res


def _traced(kernel, task, stop, gen):
    res = yield from gen
    kernel.io_uring.trace.register(task, stop.args[1] & 0xFFFFFFFF,
                                   stop.args[3] & 0xFFFFFFFF, res)
    return res


def _register(kernel, task, stop):
    fd = stop.args[0]
    opcode = stop.args[1] & 0xFFFFFFFF
    arg, nr_args = stop.args[2], stop.args[3] & 0xFFFFFFFF
    registered = opcode & abi.REGISTER_USE_REGISTERED_RING
    opcode &= ~abi.REGISTER_USE_REGISTERED_RING
    if opcode >= abi.REGISTER_LAST:
        return -errno.EINVAL           # before the fd is looked at
    try:
        if fd & 0xFFFFFFFF == 0xFFFFFFFF:
            return _register_blind(kernel, task, opcode, arg, nr_args)
        if registered:
            ring = tctx.registered_ring(task, fd & 0xFFFFFFFF)
        else:
            ring = lookup_ring(kernel, task, numbers.signed_fd(fd))
        # Whatever it registers may change what io_uring_enter must do: the
        # next one is Python's, which decides again (dataplane.enter_sync).
        dataplane.enter_off(ring)
        handler = HANDLERS.get(opcode)
        if handler is None:
            return -errno.EINVAL
        if not restrictions.register_allowed(ring, opcode):
            return -errno.EACCES
        check = ARG_CHECKS.get(opcode)
        if check is not None and check(arg, nr_args):
            return check(arg, nr_args)
        return handler(kernel, task, ring, arg, nr_args)
    except OSError as e:
        return -e.errno
