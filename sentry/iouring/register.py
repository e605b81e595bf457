"""io_uring_register(2): the probe, fixed files and fixed buffers.

An opcode without a handler fails with EINVAL, which is what a kernel that
does not know the opcode returns, so callers fall back instead of relying on
it.
"""
import errno
import struct

from pysentry.sentry.iouring import (abi, cancel, eventfd, filetable, kbuf, personality, restrictions,
                                     rsrc)
from pysentry.sentry.iouring.enter import lookup_ring
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
    22: kbuf.register_pbuf_ring,            # IORING_REGISTER_PBUF_RING
    23: kbuf.unregister_pbuf_ring,          # IORING_UNREGISTER_PBUF_RING
    24: cancel.register_sync_cancel,        # IORING_REGISTER_SYNC_CANCEL
    25: filetable.register_file_alloc_range,  # IORING_REGISTER_FILE_ALLOC_RANGE
    26: kbuf.pbuf_status,                   # IORING_REGISTER_PBUF_STATUS
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
    if kernel.io_uring.trace is not None:
        kernel.io_uring.trace.register(task, stop.args[1] & 0xFFFFFFFF,
                                       stop.args[3] & 0xFFFFFFFF, res)
    return res


def _register(kernel, task, stop):
    fd = stop.args[0]
    opcode = stop.args[1] & 0xFFFFFFFF
    arg, nr_args = stop.args[2], stop.args[3] & 0xFFFFFFFF
    if opcode & abi.REGISTER_USE_REGISTERED_RING:
        return -errno.EINVAL           # no ring fds can be registered yet
    try:
        ring = lookup_ring(kernel, task, numbers.signed_fd(fd))
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
