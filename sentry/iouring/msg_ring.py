"""IORING_OP_MSG_RING: one ring posts a CQE to, or passes a file to, another
(Linux's io_uring/msg_ring.c).

sqe->fd names the target ring; addr is the command (MSG_DATA or MSG_SEND_FD),
off the user_data of the target's CQE and len its res; MSG_SEND_FD moves
the source ring's registered file addr3 into the target's table at
file_index (1-based, or IORING_FILE_INDEX_ALLOC).
"""
import errno

from pysentry.sentry.iouring import filetable
from pysentry.sentry.iouring.file import IoUringFileDescription

MSG_DATA = 0
MSG_SEND_FD = 1
MSG_RING_CQE_SKIP = 1 << 0
MSG_RING_FLAGS_PASS = 1 << 1
_MSG_RING_MASK = MSG_RING_CQE_SKIP | MSG_RING_FLAGS_PASS
SETUP_R_DISABLED = 1 << 6


class SyncMsg:
    """The fields of a MSG_RING SQE that IORING_REGISTER_SEND_MSG_RING runs
    without a request (register.py)."""
    __slots__ = ("addr", "off", "len", "op_flags", "buf_index", "personality", "addr3",
                 "file_index")

    def __init__(self, sqe):
        (_op, _flags, _ioprio, _fd, self.off, self.addr, self.len, self.op_flags, _ud,
         self.buf_index, self.personality, file_index, self.addr3, _pad) = sqe
        self.file_index = file_index & 0xFFFFFFFF


def prep(req):
    if req.buf_index or req.personality:
        raise OSError(errno.EINVAL, "reserved fields")
    if req.op_flags & ~_MSG_RING_MASK:
        raise OSError(errno.EINVAL, "unknown msg_ring flags")


def issue(req, kernel):
    if not isinstance(req.file, IoUringFileDescription) or req.file.ring is None:
        return -errno.EBADFD
    target = req.file.ring
    if req.addr == MSG_DATA:
        return send_data(req, target)
    if req.addr == MSG_SEND_FD:
        return _send_fd(req, target)
    return -errno.EINVAL


def send_data(req, target):
    flags = req.op_flags
    if req.addr3 or flags & ~MSG_RING_FLAGS_PASS:
        return -errno.EINVAL
    dst = req.file_index
    if dst and not flags & MSG_RING_FLAGS_PASS:
        return -errno.EINVAL      # file_index carries the CQE flags only with FLAGS_PASS
    if target.flags & SETUP_R_DISABLED and not target.enabled:
        return -errno.EBADFD
    res = req.len - (1 << 32) if req.len & 0x80000000 else req.len
    target.post(req.off, res, dst if flags & MSG_RING_FLAGS_PASS else 0)
    target.notify()
    return 0


def _send_fd(req, target):
    if req.len:
        return -errno.EINVAL
    if target is req.ring:
        return -errno.EINVAL
    if target.flags & SETUP_R_DISABLED and not target.enabled:
        return -errno.EBADFD
    source = req.ring.file_table
    if source is None:
        return -errno.EBADF
    desc = source.get(req.addr3)          # EBADF for an empty or out-of-range slot
    if target.file_table is None:
        desc.put()
        return -errno.ENXIO
    res = filetable.install_direct(target, desc, req.file_index)
    if not req.op_flags & MSG_RING_CQE_SKIP:
        target.post(req.off, res)
        target.notify()
    return res              # the sender learns the slot too (0 for a given slot)
