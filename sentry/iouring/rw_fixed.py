"""READV_FIXED, WRITEV_FIXED: vectored I/O into registered buffers.

Linux (io_prep_readv_fixed / io_prep_reg_iovec at prep, io_import_reg_vec at
issue) copies the iovec array at submission -- more than UIO_MAXIOV entries
or a length that is negative as ssize_t is -EINVAL, an unreadable array
-EFAULT -- and when the request is issued looks up the registered buffer
sqe->buf_index names (none: -EFAULT) and checks that every iovec lies inside
it and is not empty (-EFAULT otherwise).  The transfer itself is READV's
(rw.py), on the same (address, length) list.

Kept apart from rw.py so that the vectored registered-buffer checks stay in
one place; only rw._transfer is shared.
"""
import errno
import struct

from pysentry.mm.iov import UIO_MAXIOV
from pysentry.sentry.iouring import rw

_IOV64 = struct.Struct("<QQ")
_IOV32 = struct.Struct("<Ii")


class _UserIovecs(list):
    """The iovecs as the program wrote them, not yet checked against the
    registered buffer (that happens at issue, as in Linux)."""


def prep(req):
    rw._prep_common(req)
    if req.len > UIO_MAXIOV:
        raise OSError(errno.EINVAL, "too many iovecs")
    fmt = _IOV32 if req.ring.compat else _IOV64
    raw = req.task.mem.read(req.addr, fmt.size * req.len) if req.len else b""
    iovs = _UserIovecs()
    for base, length in fmt.iter_unpack(raw):
        # compat_iovec has a signed 32-bit length; iovec's is ssize_t.
        if length < 0 or length >= 1 << 63:
            raise OSError(errno.EINVAL, "negative iovec length")
        iovs.append((base, length))
    req.cmd = iovs


def _import(req):
    """io_import_reg_vec(): the buffer, then each iovec inside it."""
    table = req.ring.buffer_table
    if table is None or not table.has(req.buf_index):
        raise OSError(errno.EFAULT, "no registered buffer at buf_index")
    iovs = []
    for base, length in req.cmd:
        if not length:
            raise OSError(errno.EFAULT, "empty iovec")
        # resolve() is READ_FIXED's range check (and holds a tagged buffer).
        iovs.append(table.resolve(req.buf_index, base, length, req if not iovs else None))
    req.cmd = iovs


def issue_read(req, kernel):
    if isinstance(req.cmd, _UserIovecs):
        _import(req)
    return rw._transfer(req, req.file.read, req.opdef.poll)


def issue_write(req, kernel):
    if isinstance(req.cmd, _UserIovecs):
        _import(req)
    return rw._transfer(req, req.file.write, req.opdef.poll)
