"""FSYNC, SYNC_FILE_RANGE and FALLOCATE (Linux's io_uring/sync.c).

Each acts on the file's VFS description; host-backed files use the
Sentry's fd, which shares the child's open file description.
"""
import errno
import resource

from pysentry.platform import libc
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


def _host_fd(req, errno_without):
    """The Sentry's host fd for req.file; other descriptions (an io_uring
    ring, an anonymous inode in Linux) fail with the errno Linux gives."""
    fd = getattr(req.file, "fd", None)
    if fd is None or fd < 0:
        raise OSError(errno_without, "not a host file")
    return fd


def _signed(v):
    return v - (1 << 64) if v & (1 << 63) else v


def prep_sync_file_range(req):
    if req.addr or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved sync_file_range fields")


def issue_sync_file_range(req, kernel):
    # ksys_sync_file_range(): ESPIPE for files that are not regular, block
    # devices, directories or symlinks (an anon inode such as a ring).
    libc.sync_file_range(_host_fd(req, errno.ESPIPE), _signed(req.off), req.len, req.op_flags)
    return 0


def prep_fallocate(req):
    if req.buf_index or req.op_flags or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fallocate fields")


FALLOC_FL_KEEP_SIZE = 0x01


def issue_fallocate(req, kernel):
    # vfs_fallocate(): ENODEV for a file that is neither regular nor a block device.
    fd = _host_fd(req, errno.ENODEV)
    off, length = _signed(req.off), _signed(req.addr)
    if not req.len & FALLOC_FL_KEEP_SIZE and off >= 0 and length > 0:
        # Growing the file is checked against the submitter's RLIMIT_FSIZE
        # (inode_newsize_ok()), not the Sentry's.  Linux runs fallocate in an
        # io-wq worker, which ignores the SIGXFSZ that comes with EFBIG.
        limit = resource.prlimit(req.task.tgid, resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and off + length > limit:
            return -errno.EFBIG
    libc.fallocate(fd, req.len, off, length)
    return 0
