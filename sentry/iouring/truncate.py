"""IORING_OP_FTRUNCATE (Linux's io_uring/truncate.c).

Truncates the file to sqe->off bytes through its VFS description; for a
host-backed file that is the Sentry's fd on the child's own open file
description, so the host checks the open mode and file type as it would for
the child's ftruncate(2).
"""
import errno
import fcntl
import os
import resource

from pysentry.sentry.syscalls import numbers


def prep(req):
    # io_ftruncate_prep(): every field but fd and off is reserved.
    if req.op_flags or req.addr or req.len or req.buf_index or req.splice_fd_in or req.addr3:
        raise OSError(errno.EINVAL, "reserved ftruncate fields")


def issue(req, kernel):
    length = numbers.signed64(req.off)
    f = req.file
    if length >= 0 and grows_past_fsize_limit(req.task, f, length):
        return -errno.EFBIG
    # A negative length, a read-only fd or a file that is not regular fail
    # in the host's do_ftruncate() with EINVAL, as they would in the child.
    f.truncate(length)
    return 0


def grows_past_fsize_limit(task, f, size):
    """Would growing f to size bytes exceed the submitter's RLIMIT_FSIZE?

    Linux checks the limit of the task changing the size
    (inode_newsize_ok()): here that is the child, not the Sentry, whose own
    limit the host would apply.  The check comes after the file type and
    open mode checks (of do_ftruncate(), vfs_fallocate()), so those still
    win, and only when the file grows.  The SIGXFSZ that comes with EFBIG
    is not sent: Linux runs these ops in an io-wq worker, which ignores it.
    Shared by FTRUNCATE and FALLOCATE.
    """
    if f.kind != "reg":
        return False
    limit = resource.prlimit(task.tgid, resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY or size <= limit:
        return False
    if fcntl.fcntl(f.fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
        return False
    return size > os.fstat(f.fd).st_size
