"""IORING_OP_FSYNC: fsync/fdatasync through the file's VFS description."""
import errno

from pysentry.sentry.iouring import abi


def prep(req):
    # io_fsync_prep: addr, buf_index and splice_fd_in must be zero.
    if req.addr or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fsync fields")
    if req.op_flags & ~abi.FSYNC_DATASYNC:
        raise OSError(errno.EINVAL, "unknown fsync flags")


def issue(req, kernel):
    # Linux syncs [off, off+len) (vfs_fsync_range); syncing the whole file is a
    # superset with the same result for the caller.
    req.file.fsync(datasync=bool(req.op_flags & abi.FSYNC_DATASYNC))
    return 0
