"""ASYNC_CANCEL and the cancellation machinery shared by other ops (io_uring/cancel.c).

Only requests that are waiting can be cancelled: for readiness (ring.pending),
multishot polls (ring.multishot) and timeouts (ring.timeouts).  Everything
else completes inline in the Sentry, so it is never "in flight" from the
program's point of view.  A cancelled request completes with -ECANCELED.
"""
import errno
import struct

from pysentry.sentry.iouring import abi

CANCEL_ALL = 1 << 0
CANCEL_FD = 1 << 1
CANCEL_ANY = 1 << 2
CANCEL_FD_FIXED = 1 << 3
CANCEL_USERDATA = 1 << 4
CANCEL_OP = 1 << 5
CANCEL_FLAGS = CANCEL_ALL | CANCEL_FD | CANCEL_ANY | CANCEL_FD_FIXED | CANCEL_USERDATA | CANCEL_OP


def detach(kernel, req):
    """Stop a waiting request from completing by itself; False if it was not waiting."""
    ring = req.ring
    watch = ring.multishot.pop(req, None)
    if watch is not None:
        watch.close()
        return True
    token = ring.pending.pop(req, None)
    if token is not None:
        kernel.poller.cancel(req.poll_fd(), token)     # where submit.py waited
        return True
    if ring.timeouts.pop(req, None) is not None:
        req.cmd.disarm()
        return True
    return False


def waiting(ring):
    return list(ring.pending) + list(ring.multishot) + list(ring.timeouts)


def _candidates(ring, flags, user_data):
    """What a cancel may match, in waiting() order: only the requests with
    its user_data when that is all it matches on (the common case)."""
    if flags & (CANCEL_ANY | CANCEL_FD | CANCEL_OP):
        return waiting(ring)
    return (ring.pending.with_user_data(user_data) + ring.multishot.with_user_data(user_data)
            + ring.timeouts.with_user_data(user_data))


def prep(req):
    if req.flags & abi.IOSQE_BUFFER_SELECT or req.off or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved cancel fields")
    flags = req.op_flags
    if flags & ~CANCEL_FLAGS:
        raise OSError(errno.EINVAL, "unknown cancel flags")
    if flags & CANCEL_ANY and flags & (CANCEL_FD | CANCEL_OP):
        raise OSError(errno.EINVAL, "ANY excludes FD and OP")


def _matches(req, cand):
    flags = req.op_flags
    if cand is req:
        return False
    if flags & CANCEL_ANY:
        return True
    if flags & CANCEL_FD:
        fixed = bool(cand.flags & abi.IOSQE_FIXED_FILE)
        if cand.fd != req.fd or fixed != bool(flags & CANCEL_FD_FIXED):
            return False
    if flags & CANCEL_OP and cand.opcode != req.len:
        return False
    if flags & (CANCEL_FD | CANCEL_OP) and not flags & CANCEL_USERDATA:
        return True
    return cand.user_data == req.addr


def issue(req, kernel):
    from pysentry.sentry.iouring import submit
    found = 0
    last = None
    for cand in _candidates(req.ring, req.op_flags, req.addr):
        if _matches(req, cand) and detach(kernel, cand):
            if req.ring.submitting:
                req.ring.batch_work.append((cand, -errno.ECANCELED))
            else:
                submit.complete(kernel, cand, -errno.ECANCELED)
            found += 1
            last = cand
            if not req.op_flags & (CANCEL_ALL | CANCEL_ANY):
                break
    return _result(req.op_flags, found, last)


# Ops whose cancel function reports how many it cancelled (io_futex_cancel,
# io_waitid_cancel return a count): a single cancel of one of them gives 1
# where cancelling any other request gives 0.
COUNTING_CANCEL = frozenset((abi.OP_FUTEX_WAIT, abi.OP_FUTEX_WAITV, abi.OP_WAITID))


def single_result(cand):
    """What cancelling the one request cand reports (also a link timeout's
    result when it cancelled cand)."""
    return 1 if cand.opcode in COUNTING_CANCEL else 0


def _result(flags, found, last):
    # Cancelling all (or any) reports how many, zero included; a single
    # cancel that found nothing is -ENOENT.
    if flags & (CANCEL_ALL | CANCEL_ANY):
        return found
    return single_result(last) if found else -errno.ENOENT


# struct io_uring_sync_cancel_reg: addr, fd, flags, timeout {sec, nsec},
# opcode, pad[7], pad2[3]
_SYNC_CANCEL_REG = struct.Struct("<QiIqqB7s24s")


class _SyncCancel:
    """What IORING_REGISTER_SYNC_CANCEL asks for, shaped like an ASYNC_CANCEL
    request so _matches() serves both."""
    __slots__ = ("op_flags", "fd", "len", "addr")

    def __init__(self, flags, fd, opcode, user_data):
        self.op_flags, self.fd, self.len, self.addr = flags, fd, opcode, user_data


def register_sync_cancel(kernel, task, ring, arg, nr_args):
    """IORING_REGISTER_SYNC_CANCEL: cancel now and return once it is done.

    Linux waits (up to the given timeout, else -ETIME) for a request already
    running in an io-wq worker.  The Sentry has no such requests -- each is
    either waiting, and cancelled at once, or already completed -- so the
    wait is never needed and the timeout only has to be read.
    """
    from pysentry.sentry.iouring import submit
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "needs one io_uring_sync_cancel_reg")
    addr, fd, flags, _sec, _nsec, opcode, pad, pad2 = _SYNC_CANCEL_REG.unpack(
        task.mem.read(arg, _SYNC_CANCEL_REG.size))
    if flags & ~CANCEL_FLAGS or any(pad) or any(pad2):
        raise OSError(errno.EINVAL, "unknown flags or non-zero padding")
    # Unlike the ASYNC_CANCEL op, ANY may come with FD or OP here (and wins).
    if flags & CANCEL_FD:
        # The file must exist: fget() for a normal fd, the table slot for a
        # fixed one.
        if flags & CANCEL_FD_FIXED:
            if ring.file_table is None:
                raise OSError(errno.EBADF, "no registered files")
            ring.file_table.get(fd).put()
        else:
            kernel.lookup_file(task, fd).put()
    want = _SyncCancel(flags, fd, opcode, addr)
    found = 0
    last = None
    for cand in _candidates(ring, flags, addr):
        if _matches(want, cand) and detach(kernel, cand):
            submit.complete(kernel, cand, -errno.ECANCELED)
            found += 1
            last = cand
            if not flags & (CANCEL_ALL | CANCEL_ANY):
                break
    return _result(flags, found, last)
