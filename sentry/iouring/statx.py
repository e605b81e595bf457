"""STATX (Linux's io_uring/statx.c).

SQE layout: fd = dirfd, addr = path, len = mask, op_flags = statx flags,
addr2 (off) = the struct statx buffer in the child.

The path is copied at prep (getname_uflags(): empty allowed with
AT_EMPTY_PATH) and walked by the Sentry on fds at issue (vfs/walk.py, with
the request's credentials); the host's statx(2) then fills a struct statx for
the O_PATH fd the walk reached (AT_EMPTY_PATH), which is copied to the child
(-EFAULT if the buffer is not writable, after the lookup, as cp_statx()
does).  AT_EMPTY_PATH with an empty path stats the file dirfd refers to
through the Sentry's own fd on that open file description.
"""
import errno
import os

from pysentry.platform import libc
from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.fs import getname, lookup
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.syscalls import numbers
from pysentry.sentry.uapi import (AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_SYMLINK_NOFOLLOW,
                                  O_PATH_CLOEXEC)

AT_STATX_SYNC_TYPE = 0x6000
STATX__RESERVED = 0x80000000


def prep(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved statx fields")
    if req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "statx takes no fixed file")
    req.cmd = getname(req.task, req.addr, empty_ok=bool(req.op_flags & AT_EMPTY_PATH))


def _stat_empty_path(kernel, req, acting, flags, mask):
    """statx of what dirfd itself names (AT_EMPTY_PATH with an empty path)."""
    task, dirfd = req.task, numbers.signed_fd(req.fd)
    if dirfd == AT_FDCWD:
        with acting.paused():           # the program's own /proc entry
            cwd = os.open("/proc/%d/cwd" % task.tid, O_PATH_CLOEXEC)
        try:
            return libc.statx(cwd, b"", flags, mask)
        finally:
            os.close(cwd)
    held = kernel.lookup_file(task, dirfd)
    try:
        fd = getattr(held, "fd", -1)
        if fd >= 0:
            return libc.statx(fd, b"", flags, mask)
    finally:
        held.put()
    # A file the Sentry serves itself (a ring fd): its host object is what
    # the child's fd refers to, reached through the child's fd table.
    with acting.paused():
        return libc.statx(AT_FDCWD, b"/proc/%d/fd/%d" % (task.tid, dirfd),
                          flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), mask)


def issue(req, kernel):
    flags, mask = req.op_flags, req.len
    # do_statx()/vfs_statx() reject these before looking anything up.
    if mask & STATX__RESERVED:
        return -errno.EINVAL
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
        return -errno.EINVAL
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE):
        return -errno.EINVAL
    with as_submitter(req) as acting:
        if not req.cmd:
            raw = _stat_empty_path(kernel, req, acting, flags, mask)
        else:
            found = lookup(kernel, req, acting, numbers.signed_fd(req.fd), req.cmd,
                           not flags & AT_SYMLINK_NOFOLLOW)
            try:
                if not found.exists:
                    return -errno.ENOENT
                # The walk already followed (or kept) the final symlink.
                raw = libc.statx(found.fd, b"", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW
                                 | flags & AT_STATX_SYNC_TYPE, mask)
            finally:
                found.close()
    req.task.mem.write(req.off, raw)
    return 0
