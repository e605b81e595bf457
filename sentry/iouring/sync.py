"""FSYNC, SYNC_FILE_RANGE and FALLOCATE (Linux's io_uring/sync.c).

Each acts on the file's VFS description; host-backed files use the
Sentry's fd, which shares the child's open file description.
"""
import errno

from pysentry.sentry.iouring import abi, truncate
from pysentry.sentry.syscalls import numbers


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


def prep_sync_file_range(req):
    if req.addr or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved sync_file_range fields")


def issue_sync_file_range(req, kernel):
    # Files that cannot be synced fail as in ksys_sync_file_range() (see
    # FileDescription.sync_range).
    req.file.sync_range(numbers.signed64(req.off), req.len, req.op_flags)
    return 0


def prep_fallocate(req):
    if req.buf_index or req.op_flags or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fallocate fields")


FALLOC_FL_ZERO_RANGE = 0x10


def issue_fallocate(req, kernel):
    off, length = numbers.signed64(req.off), numbers.signed64(req.addr)
    if (req.len in (0, FALLOC_FL_ZERO_RANGE) and off >= 0 and length > 0
            and truncate.grows_past_fsize_limit(req.task, req.file, off + length)):
        # The modes that may grow the file are checked against the
        # submitter's RLIMIT_FSIZE, not the Sentry's (see truncate.py).
        return -errno.EFBIG
    # Other file types fail as in vfs_fallocate() (FileDescription.allocate).
    req.file.allocate(req.len, off, length)
    return 0
