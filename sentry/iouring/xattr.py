"""FSETXATTR, SETXATTR, FGETXATTR and GETXATTR (Linux's io_uring/xattr.c).

SQE layout: addr = attribute name, addr2 (off) = value buffer, len = value
size, op_flags = xattr flags, addr3 = path (SETXATTR/GETXATTR only, always
resolved from the cwd with the final symlink followed); the f* variants act
on the file fd names.

What Linux copies at prep is copied at prep here too: the name (empty, or
no NUL within XATTR_NAME_MAX + 1 bytes: -ERANGE), for a set the value
(larger than XATTR_SIZE_MAX: -E2BIG) and the path.  The operation itself runs
on the host -- on what the Sentry's fd-based walk reached (vfs/walk.py, as
the request's credentials), named by the Sentry's own /proc/self/fd entry
for its O_PATH fd, or on the Sentry's fd sharing the child's open file
description -- so the filesystem's own answers (-ENODATA,
-ERANGE for a small buffer, -EOPNOTSUPP for an unknown namespace, -E2BIG for
a value buffer of XATTR_SIZE_MAX or more that is still too small) are
Linux's.
"""
import errno
import os

from pysentry.platform import libc
from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.fs import getname, lookup
from pysentry.sentry.uapi import AT_FDCWD
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.iouring.request import Unfailed

XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_CREATE = 0x1
XATTR_REPLACE = 0x2


def _copy_name(req):
    # import_xattr_name(): a NUL must come within XATTR_NAME_MAX + 1 bytes
    # and the name may not be empty, both -ERANGE; a bad pointer -EFAULT.
    try:
        name = req.task.mem.read_cstring(req.addr, XATTR_NAME_MAX + 1)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise OSError(errno.ERANGE, "xattr name too long")
        raise
    if not name:
        raise OSError(errno.ERANGE, "empty xattr name")
    return name


def _no_fixed_file(req, with_path):
    # Only the path variants refuse IOSQE_FIXED_FILE (EBADF, first thing in
    # io_getxattr_prep/io_setxattr_prep); FGETXATTR/FSETXATTR take a fixed
    # file like any op with a file, looked up at issue, after their prep.
    if with_path and req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "path xattr ops take no fixed file")


def _prep_get(req, with_path):
    _no_fixed_file(req, with_path)
    if req.op_flags:
        raise OSError(errno.EINVAL, "getxattr takes no flags")
    name = _copy_name(req)
    path = getname(req.task, req.addr3) if with_path else None
    req.cmd = (name, path, None)


def _prep_set(req, with_path):
    _no_fixed_file(req, with_path)
    # setxattr_copy(): flags, then name, then size, then the value copy.
    if req.op_flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise OSError(errno.EINVAL, "unknown xattr flags")
    name = _copy_name(req)
    value = b""
    if req.len:
        if req.len > XATTR_SIZE_MAX:
            raise OSError(errno.E2BIG, "xattr value too large")
        value = req.task.mem.read(req.off, req.len)
    path = getname(req.task, req.addr3) if with_path else None
    req.cmd = (name, path, value)


def prep_fgetxattr(req):
    _prep_get(req, with_path=False)


def prep_getxattr(req):
    _prep_get(req, with_path=True)


def prep_fsetxattr(req):
    _prep_set(req, with_path=False)


def prep_setxattr(req):
    _prep_set(req, with_path=True)


def _host_fd(req, name, user_errno):
    fd = getattr(req.file, "fd", -1)
    if fd is None or fd < 0:
        # A file the Sentry serves itself (a ring) stands for an anonymous
        # inode in Linux: neither a regular file nor a directory, so
        # xattr_permission() answers user.* names with user_errno (-ENODATA
        # to read, -EPERM to write), and no handler knows any other name.
        # (Linux parses a system.posix_acl_* value before finding that out,
        # so a malformed ACL is -EINVAL there; here it is -EOPNOTSUPP.)
        if name.startswith(b"user."):
            raise OSError(user_errno, "user xattrs on a special file")
        raise OSError(errno.EOPNOTSUPP, "no xattrs on this file")
    return fd


class _Target:
    """The file a path names, walked as Linux's filename_lookup(AT_FDCWD,
    path, LOOKUP_FOLLOW) walks it (sqe->fd plays no part), held open as an
    O_PATH fd; host_path() names it through the Sentry's own /proc entry,
    which the host follows straight to that object."""

    def __init__(self, kernel, req, acting, path):
        self.found = lookup(kernel, req, acting, AT_FDCWD, path, True)

    def host_path(self):
        if not self.found.exists:
            raise OSError(errno.ENOENT, "no such file")
        return b"/proc/self/fd/%d" % self.found.fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.found.close()
        return False


def _finish_get(req, got):
    n, value = got
    # do_getxattr() copies the value out only when a buffer size was given.
    if req.len and n:
        req.task.mem.write(req.off, value)
    return n


def _unfailed(issue):
    """Linux's xattr handlers post the VFS call's error with io_req_set_res()
    and never req_set_fail() (io_xattr_finish): a failure breaks no link, and
    IOSQE_CQE_SKIP_SUCCESS hides it.  A bad fd is still a failure: its EBADF
    comes from the file lookup before the handler (submit.py)."""
    def run(req, kernel):
        try:
            return issue(req, kernel)
        except OSError as e:
            return Unfailed(-e.errno)
    return run


@_unfailed
def issue_fgetxattr(req, kernel):
    name = req.cmd[0]
    fd = _host_fd(req, name, errno.ENODATA)
    with as_submitter(req):
        got = libc.fgetxattr(fd, name, min(req.len, XATTR_SIZE_MAX))
    return _finish_get(req, got)


@_unfailed
def issue_getxattr(req, kernel):
    name, path, _ = req.cmd
    with as_submitter(req) as acting, _Target(kernel, req, acting, path) as target:
        got = libc.getxattr(target.host_path(), name, min(req.len, XATTR_SIZE_MAX))
    return _finish_get(req, got)


@_unfailed
def issue_fsetxattr(req, kernel):
    name, _, value = req.cmd
    fd = _host_fd(req, name, errno.EPERM)
    with as_submitter(req):
        os.setxattr(fd, name, value, req.op_flags)
    return 0


@_unfailed
def issue_setxattr(req, kernel):
    name, path, value = req.cmd
    with as_submitter(req) as acting, _Target(kernel, req, acting, path) as target:
        libc.setxattr(target.host_path(), name, value, req.op_flags)
    return 0
