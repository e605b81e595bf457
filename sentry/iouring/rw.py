"""READ, WRITE, READV, WRITEV: data transfer through the VFS file description.

Regular files are served inline.  Streams (pipes, sockets, eventfds, ttys) are
tried without blocking (RWF_NOWAIT); if nothing is ready the request waits on
the file's readiness and is retried, as Linux's io_uring arms an internal poll
instead of blocking (what IORING_FEAT_FAST_POLL advertises).

READ and READV with IOSQE_BUFFER_SELECT take their buffer from a provided
buffer group when issued (kbuf.py).  READ_MULTISHOT reads a pollable file
into one provided buffer after another, a CQE each (IORING_CQE_F_MORE), for
as long as data, buffers and CQ room last.
"""
import errno
import os
import struct

from pysentry.mm import iov as iovmod
from pysentry.mm.child_memory import MAX_RW_COUNT, access_ok
from pysentry.sentry.iouring import abi, inject, kbuf
from pysentry.sentry.iouring.request import IOWQ_FORCE
from pysentry.vfs.file import _anon_name
from pysentry.vfs.file import (RWF_APPEND, RWF_DSYNC, RWF_HIPRI, RWF_NOAPPEND, RWF_NOSIGNAL,
                               RWF_NOWAIT, RWF_SUPPORTED, RWF_SYNC)
from pysentry.sentry.uapi import POLLIN
from pysentry.sentry.iouring.abi import CQE_F_MORE

_OFF_CUR = (1 << 64) - 1
_IOPRIO_CLASS_SHIFT = 13
_IOPRIO_LEVEL_MASK = 0x7
# RWF flags kiocb_set_rw_flags() accepts whatever the file supports
_ANY_FILE_RWF = RWF_DSYNC | RWF_SYNC | RWF_APPEND | RWF_NOAPPEND | RWF_NOSIGNAL


# req.cmd, the op's own state, is its list of (address, length) iovecs in the
# program's memory (Linux's struct io_rw and its iov_iter).


def _prep_common(req):
    # ioprio_check_cap(): a class above IDLE (3) is EINVAL, and so is a level
    # (the low 3 bits) under class NONE (0); hint bits are accepted.
    cls = req.ioprio >> _IOPRIO_CLASS_SHIFT
    if cls > 3 or (cls == 0 and req.ioprio & _IOPRIO_LEVEL_MASK):
        raise OSError(errno.EINVAL, "bad ioprio class or level")
    if req.attr:
        _prep_attr(req)


# IORING_FEAT_RW_ATTR: sqe->attr_type_mask names attributes at sqe->attr_ptr;
# 6.18 has one, protection information (struct io_uring_attr_pi), which
# io_prep_rw_pi() copies and checks.  It only applies to files with integrity
# metadata (block devices with a PI profile), and the issue refuses every other
# file with -EINVAL; a sandboxed program reaches no such device, so every
# request that passes prep fails at issue (_transfer), as on Linux for its files.
RW_ATTR_FLAG_PI = 1 << 0
_ATTR_PI = struct.Struct("<HHIQQQ")     # flags, app_tag, len, addr, seed, rsvd


def _prep_attr(req):
    if req.attr != RW_ATTR_FLAG_PI:
        raise OSError(errno.EINVAL, "unknown rw attribute")
    _flags, _tag, length, addr, _seed, rsvd = _ATTR_PI.unpack(
        req.task.mem.read(req.addr3, _ATTR_PI.size))
    if rsvd:
        raise OSError(errno.EINVAL, "reserved PI field")
    if not access_ok(addr, min(length, MAX_RW_COUNT)):
        raise OSError(errno.EFAULT, "PI buffer outside user space")


def prep_single(req):
    _prep_common(req)
    if req.flags & abi.IOSQE_BUFFER_SELECT:
        req.kbuf_want = req.len     # the buffer is picked at issue (kbuf.py)
        return
    # import_ubuf(): the whole range must lie in user space, else -EFAULT.
    if not access_ok(req.addr, req.len):
        raise OSError(errno.EFAULT, "buffer outside user space")
    req.cmd = [(req.addr, min(req.len, MAX_RW_COUNT))]


def prep_vector(req):
    _prep_common(req)
    if req.flags & abi.IOSQE_BUFFER_SELECT:
        _prep_select_vector(req)
        return
    # Linux imports the iovec array at prep (IORING_FEAT_SUBMIT_STABLE).
    req.cmd = iovmod.read_iovecs(req.task.mem, req.addr, req.len, req.ring.compat)


def _prep_select_vector(req):
    """READV with IOSQE_BUFFER_SELECT (io_iov_buffer_select_prep): exactly one
    iovec, read now, whose length caps the buffer picked at issue time."""
    if req.len != 1:
        raise OSError(errno.EINVAL, "buffer select takes one iovec")
    if req.ring.compat:
        # compat_iovec: a signed 32-bit length, negative is -EINVAL.
        (want,) = struct.unpack("<i", req.task.mem.read(req.addr + 4, 4))
        if want < 0:
            raise OSError(errno.EINVAL, "negative iovec length")
    else:
        (want,) = struct.unpack("<Q", req.task.mem.read(req.addr + 8, 8))
    req.kbuf_want = want & 0xFFFFFFFF       # Linux keeps it in the u32 rw->len


def prep_fixed(req):
    _prep_common(req)


def _fixed_iovs(req):
    """READ_FIXED/WRITE_FIXED: the range must lie in registered buffer buf_index."""
    table = req.ring.buffer_table
    if table is None:
        raise OSError(errno.EFAULT, "no registered buffers")
    req.cmd = [table.resolve(req.buf_index, req.addr, min(req.len, MAX_RW_COUNT), req)]


def issue_read_fixed(req, kernel):
    if req.cmd is None:
        _fixed_iovs(req)
    return _transfer(req, req.file.read, req.opdef.poll)


def issue_write_fixed(req, kernel):
    if req.cmd is None:
        _fixed_iovs(req)
    return _transfer(req, req.file.write, req.opdef.poll)


def _offset(req):
    if req.off == _OFF_CUR or not req.file.seekable:
        return None
    if req.off >= 1 << 63:
        raise OSError(errno.EINVAL, "negative offset")
    return req.off


def _transfer(req, method, poll_events):
    if req.attr:
        raise OSError(errno.EINVAL, "file without integrity metadata")
    if req.flags & abi.IOSQE_BUFFER_SELECT:
        return _transfer_selected(req, method, poll_events)
    return _transfer_iovs(req, method, poll_events)


def _transfer_selected(req, method, poll_events):
    """IOSQE_BUFFER_SELECT: pick a provided buffer when issued, as Linux's
    io_import_rw_buffer() does; if the file is not ready, kbuf.recycle()
    decides whether the waiting request keeps it (legacy) or not (ring)."""
    picked = kbuf.held(req)
    if picked is None:
        picked = kbuf.select(req, req.kbuf_want)       # ENOBUFS: no buffer
    req.cmd = [picked]
    req.expected = picked[1]
    try:
        res = _transfer_iovs(req, method, poll_events)
    except OSError as e:
        kbuf.finish(req, -e.errno)
        raise
    if res is None:
        kbuf.recycle(req)
        return None
    kbuf.finish(req, res)
    return res


def _transfer_iovs(req, method, poll_events):
    f = req.file
    if req.ring.flags & abi.SETUP_IOPOLL:
        # io_rw_init_file(): polled I/O only on O_DIRECT files of a
        # filesystem (or block device) that can poll for completion --
        # checked after the open mode (EBADF) and the RWF flags.
        _init_file_checks(req, f, req.op_flags, poll_events == POLLIN, False)
        if not f.supports_iopoll():
            return -errno.EOPNOTSUPP
        if poll_events == POLLIN and f.iopoll_read_unsupported(_offset(req)):
            return -errno.EOPNOTSUPP
    if f.kind == "signalfd":
        # A signalfd read by the Sentry would return the Sentry's signals.
        # Not served yet: fail loudly rather than wait forever.
        return -errno.EOPNOTSUPP
    flags = req.op_flags
    if req.expected is None:
        req.expected = iovmod.total_len(req.cmd)
    sock_pos = f.kind == "sock" and req.off not in (0, _OFF_CUR)
    # An empty transfer makes no host call, which would have made the checks.
    # Unknown RWF flags too: the host's EOPNOTSUPP for them would come
    # before the open mode's EBADF, which io_rw_init_file() checks first.
    if sock_pos or not req.expected or flags & ~RWF_SUPPORTED or (
            flags & RWF_HIPRI and not req.ring.flags & abi.SETUP_IOPOLL):
        _init_file_checks(req, f, flags, poll_events == POLLIN, sock_pos)
        if (not req.expected and poll_events == POLLIN and f.kind == "other"
                and _anon_name(getattr(f, "fd", -1)) == "[eventfd]"):
            # An eventfd's read_iter (eventfd_read) refuses a count below 8
            # bytes, 0 included, with EINVAL (the host call, skipped here,
            # says so for 1 to 7).  A write goes through its ->write, which
            # io_uring's loop_rw_iter never calls for 0 bytes: 0.
            raise OSError(errno.EINVAL, "eventfd reads 8 bytes")
        if (not req.expected and flags & RWF_NOWAIT and f.loop_rw(poll_events == POLLIN)
                and not f.nonblocking() and not _iowq_blocking(req, f)):
            # loop_rw_iter() refuses IOCB_NOWAIT on a file not opened
            # O_NONBLOCK with -EAGAIN before it looks at the length (final
            # under RWF_NOWAIT): an empty eventfd write too (seed 33081).
            raise OSError(errno.EAGAIN, "would block")
    if flags & RWF_NOWAIT:
        if _iowq_blocking(req, f):
            # An io-wq worker's blocking issue: io_read/io_write clear
            # IOCB_NOWAIT when not force_nonblock, so RWF_NOWAIT (accepted by
            # kiocb_set_rw_flags: the file has FMODE_NOWAIT) only makes an
            # -EAGAIN final.  Files whose FMODE_NOWAIT is not known here keep
            # the flag, and the host's answer.
            if f.fmode_nowait():
                flags &= ~RWF_NOWAIT
        elif poll_events != POLLIN and f.nowait_write_refused():
            # io_write(): a buffered write to a regular file whose filesystem
            # cannot do it without blocking (no FOP_BUFFER_WASYNC: ext4) is
            # -EAGAIN before any I/O, whatever its length -- final under
            # RWF_NOWAIT -- after io_rw_init_file's checks.
            _init_file_checks(req, f, flags, False, False)
            raise OSError(errno.EAGAIN, "buffered write would block")
    if f.kind == "io_uring":
        return _ring_rw(req, f, flags, poll_events)
    offset = _offset(req)
    add_nowait = not f.seekable and not flags & RWF_NOWAIT
    iovs = inject.iovecs(req) if req.fault is not None else req.cmd
    start = os.lseek(f.fd, 0, os.SEEK_CUR) if offset is None and f.kind == "reg" else None
    try:
        n = method(req.task.mem, iovs, offset, flags | (RWF_NOWAIT if add_nowait else 0))
        if start is not None and n is not None and 0 < n < req.expected:
            _cut_by_fault(req, f, iovs, n, start, poll_events == POLLIN)
        return n
    except BlockingIOError:
        if not add_nowait:
            raise
    except OSError as e:
        if e.errno == errno.EFAULT:
            # The Sentry copies child memory before the host call checks the
            # open mode; Linux checks the mode first (io_rw_init_file).
            _init_file_checks(req, f, flags, poll_events == POLLIN, False)
        if e.errno != errno.EOPNOTSUPP or flags & ~RWF_SUPPORTED:
            raise    # unknown RWF flags are EOPNOTSUPP, not a file without NOWAIT
        reading = poll_events == POLLIN
        if f.loop_rw(reading):
            return _loop_transfer(req, f, method, iovs, offset, flags, poll_events)
        if flags & RWF_NOWAIT and f.fmode_nowait():
            # The file takes IOCB_NOWAIT but its read_iter/write_iter refuses
            # it with EOPNOTSUPP (ext4's buffered write): io_read/io_write
            # turn that into -EAGAIN, final under RWF_NOWAIT (REQ_F_NOWAIT).
            raise OSError(errno.EAGAIN, "file refuses a nowait transfer") from None
        if not add_nowait:
            raise
        # A file without RWF_NOWAIT support (a tty): wait for readiness, then
        # do the plain call.
        if not f.ready(poll_events):
            return None
        return method(req.task.mem, iovs, offset, flags)
    return None      # not ready: wait for the op's direction and retry (submit.py)


def _cut_by_fault(req, f, iovs, n, start, reading):
    """A READ/WRITE at the file position of a regular file that moved n
    bytes and stopped at a fault: Linux retries the rest from io-wq
    (__io_read's partial-read loop, io_write's short write), whose attempt
    faults at once, and kiocb_done() then posts the n bytes but stores the
    position only for an attempt that did not fail -- so it stays where it
    was (natively: a READ of 100 bytes into 4 mapped ones returns 4, the
    position stays 0).  A read stopped by the end of the file is no fault:
    its retry reads 0 and the position moves."""
    k = n
    for base, length in iovs:
        if k < length:
            addr = base + k
            break
        k -= length
    else:
        return
    if req.task.mem.probe([addr]) == 1:
        return                      # the byte after it is there: not a fault
    if reading and start + n >= os.fstat(f.fd).st_size:
        return
    os.lseek(f.fd, start, os.SEEK_SET)


def _ring_rw(req, f, flags, poll_events):
    """READ/WRITE on an io_uring fd, which has neither read nor write.
    After io_rw_init_file's flag checks, io_read()/io_write() issued
    non-blocking (inline, or by io-wq for a REQ_F_FORCE_ASYNC request: the
    ring fd can poll) go on only if io_file_supports_nowait() -- the ring
    has no FMODE_NOWAIT, so io_uring_poll() must report the direction
    ready (ring.poll_revents(): POLLOUT unless the SQ, as published before
    the batch, is full; POLLIN while CQEs wait) -- and then fail with
    EINVAL.  Otherwise -EAGAIN arms a poll on the ring, which the ring
    wakes only with EPOLLIN | EPOLL_URING_WAKE, when it posts CQEs
    (io_poll_wq_wake): a read is issued again then, and fails with EINVAL
    (at once, or blocking from io-wq if the CQ was emptied meanwhile); a
    write's poll ignores that key and waits until it is cancelled.  A
    request io-wq issues blocking (a link's head left open at the end of a
    batch) skips the readiness check: EINVAL."""
    f.no_rw_flags(flags)
    ring = f.ring
    reading = poll_events == POLLIN
    if req.ring_waited is None:
        if _iowq_blocking(req, f) or ring.poll_revents() & poll_events:
            raise OSError(errno.EINVAL, "no read or write")
        ring.drain_kick()           # only CQEs posted from now on wake it
        req.ring_waited = ring.posted_committed()
    else:
        ring.drain_kick()
        if reading and ring.posted != req.ring_waited:
            raise OSError(errno.EINVAL, "no read or write")
    req.poll_events = POLLIN        # the ring's kick eventfd: it posted CQEs
    return None


def _loop_transfer(req, f, method, iovs, offset, flags, poll_events):
    """A file with only ->read or ->write for this direction (FileDescription
    .loop_rw): the host's preadv2/pwritev2 refused the RWF flags with
    EOPNOTSUPP, but io_uring checks them in kiocb_set_rw_flags() and then
    calls ->read/->write itself (loop_rw_iter), which ignores them."""
    if flags & RWF_APPEND and flags & RWF_NOAPPEND:
        raise OSError(errno.EINVAL, "RWF_APPEND with RWF_NOAPPEND")
    if flags & ~_ANY_FILE_RWF & ~RWF_NOWAIT or (flags & RWF_NOWAIT and not f.fmode_nowait()):
        # RWF_ATOMIC (no FMODE_CAN_ATOMIC_WRITE), RWF_DONTCACHE (no
        # FOP_DONTCACHE), RWF_NOWAIT without FMODE_NOWAIT.  (RWF_HIPRI is
        # refused before: _init_file_checks.)
        raise OSError(errno.EOPNOTSUPP, "unsupported RWF flags")
    if f.kind == "dir":
        # generic_read_dir, the directory's ->read.
        raise OSError(errno.EISDIR, "is a directory")
    if flags & RWF_NOWAIT:
        # loop_rw_iter(): under IOCB_NOWAIT a file not opened O_NONBLOCK is
        # -EAGAIN without a call (final under RWF_NOWAIT); an O_NONBLOCK
        # one is called, and its own -EAGAIN is final too.
        if not f.nonblocking():
            raise OSError(errno.EAGAIN, "would block")
        return method(req.task.mem, iovs, offset, 0)
    # Otherwise Linux's attempt under IOCB_NOWAIT is -EAGAIN and the request
    # is retried when the file is ready (poll, then io-wq): a plain call.
    if not f.ready(poll_events):
        return None
    try:
        return method(req.task.mem, iovs, offset, 0)
    except BlockingIOError:
        return None


def _iowq_blocking(req, f):
    """Would Linux's io-wq worker issue req blocking (without
    IO_URING_F_NONBLOCK)?  io_wq_submit_work() tries a REQ_F_FORCE_ASYNC
    request non-blocking first when its op and file can poll; a request it
    was handed otherwise (a link's head left open at the end of a batch), or
    on a file without ->poll, is issued blocking."""
    return bool(req.iowq) and not (req.iowq == IOWQ_FORCE and f.has_poll())


def _init_file_checks(req, f, flags, reading, sock_pos):
    """What Linux refuses before any I/O, in its order (io_rw_init_file):
    the file not open for the direction (EBADF), unknown RWF flags
    (EOPNOTSUPP), RWF_HIPRI on a ring without IOPOLL (EINVAL); then the
    socket's read_iter/write_iter: a position other than 0 (-1 is none) is
    ESPIPE.  Only called when one of the last two applies, nothing is to
    move or the copy faulted: otherwise the host call makes the others."""
    mode = f.access_mode()
    if mode is not None and not (mode in (os.O_RDONLY, os.O_RDWR) if reading
                                 else mode in (os.O_WRONLY, os.O_RDWR)):
        raise OSError(errno.EBADF, "not open for this direction")
    if flags & ~RWF_SUPPORTED:
        raise OSError(errno.EOPNOTSUPP, "unsupported RWF flags")
    if flags & RWF_HIPRI and not req.ring.flags & abi.SETUP_IOPOLL:
        raise OSError(errno.EINVAL, "RWF_HIPRI needs an IOPOLL ring")
    if sock_pos:
        raise OSError(errno.ESPIPE, "a socket has no position")


def issue_read(req, kernel):
    return _transfer(req, req.file.read, req.opdef.poll)


def issue_write(req, kernel):
    return _transfer(req, req.file.write, req.opdef.poll)


# -- READ_MULTISHOT ---------------------------------------------------------------------
def prep_read_multishot(req):
    """io_read_mshot_prep(): provided buffers only, and each buffer's own
    length is the read's, so addr and len must be 0 (-EINVAL otherwise)."""
    _prep_common(req)
    if not req.flags & abi.IOSQE_BUFFER_SELECT:
        raise OSError(errno.EINVAL, "multishot read needs provided buffers")
    if req.addr or req.len:
        raise OSError(errno.EINVAL, "addr and len are the buffer's")
    req.kbuf_want = 0


def issue_read_multishot(req, kernel):
    """Read into a fresh buffer per CQE until the file has nothing more:
    then give the buffer back and wait (the retry goes on here).  It ends,
    with a CQE without F_MORE, at end of file (res 0, no buffer), on an
    error, with no buffer left (-ENOBUFS), or when the CQ has no room for
    another CQE (that read's CQE is the last)."""
    if not kbuf.can_poll(req.file):
        return -errno.EBADFD          # regular files: io_file_can_poll() is false
    if req.iowq:
        # io_wq_submit_work(): a multishot request given to io-wq is not
        # issued there but arms its poll (the file has FMODE_NOWAIT or is
        # O_NONBLOCK: pipes, sockets, eventfds...), so the first read -- and
        # with it the buffer selection and its -ENOBUFS -- waits for data.
        req.iowq = 0
        if not req.file.ready(POLLIN):
            return None
    ring = req.ring
    while True:
        req.cmd = [kbuf.select(req, 0)]        # ENOBUFS ends the request
        req.expected = None
        try:
            res = _transfer_iovs(req, req.file.read, POLLIN)
        except OSError as e:
            kbuf.finish(req, -e.errno)
            raise
        if res is None or res == 0:
            kbuf.give_back(req)       # nothing read: the buffer goes back
            return res
        kbuf.finish(req, res)
        if not ring.post_more(req.user_data, res, req.cflags | CQE_F_MORE):
            return res
        ring.notify()
        req.cflags = 0
