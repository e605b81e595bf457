"""RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT and LINKAT (Linux's io_uring/fs.c).

Like Linux, the path strings are copied at prep (getname(): a bad pointer is
-EFAULT, an empty path -ENOENT, a path of PATH_MAX bytes or more
-ENAMETOOLONG), so a child rewriting them after submission changes nothing.
At issue the paths are resolved by the Sentry's VFS and the operation runs on
the host paths, in the Sentry.

Only the directory part of each path is walked by the VFS; the final
component is handed to the host untouched (with its trailing slash).  That is
how these calls treat it in Linux (filename_parentat() followed by a lookup
of the last name that never follows a symlink): unlink of a symlink removes
the link, rmdir of "dir/.." is -ENOTEMPTY, mkdir of "x/" is fine, and every
such error comes from the host kernel itself.

The host call runs with the submitter's credentials, or the request's
registered personality (sentry/creds.py); the VFS walk before it is the
Sentry's, and the host repeats the walk's permission checks on the host path.
Known difference: read-only VFS mounts are not enforced here (nor by the
synchronous calls, which run on the host).
"""
import errno
import os

from pysentry.platform import libc
from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.syscalls import numbers

PATH_MAX = 4096
AT_FDCWD = -100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
RENAME_NOREPLACE = 1 << 0
RENAME_EXCHANGE = 1 << 1
RENAME_WHITEOUT = 1 << 2


def getname(task, addr, empty_ok=False):
    """Copy a path from the child as getname() does (empty_ok: LOOKUP_EMPTY)."""
    path = task.mem.read_cstring(addr, PATH_MAX)
    if not path and not empty_ok:
        raise OSError(errno.ENOENT, "empty path")
    return path


def host_entry(kernel, task, dirfd, path):
    """The host path of path's final component, the component itself unresolved.

    The directory part is walked by the VFS (symlinks followed, dirfd or cwd
    as the start, -EBADF/-ENOTDIR for a bad relative dirfd); the last name is
    appended as the child wrote it, trailing slash included, so the host
    applies Linux's own rules to it.
    """
    body = path.rstrip(b"/")
    if not body:
        # "/" (Linux's LAST_ROOT): the root itself, for the host to refuse.
        return kernel.vfs_resolve(task, dirfd, b"/", True).host_path
    slash = b"/" if len(body) < len(path) else b""
    cut = body.rfind(b"/")
    if cut < 0:
        parent, last = b".", body
    else:
        parent, last = body[:cut] or b"/", body[cut + 1:]
    where = kernel.vfs_resolve(task, dirfd, parent, True)
    return where.host_path.rstrip(b"/") + b"/" + last + slash


def _no_fixed_file(req):
    # These calls take dirfds, which are never registered files.
    if req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "path ops take no fixed file")


# -- RENAMEAT: fd = olddirfd, addr = oldpath, len = newdirfd, addr2 (off) =
#    newpath, op_flags = renameat2 flags.

def prep_renameat(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved renameat fields")
    _no_fixed_file(req)
    req.path = (getname(req.task, req.addr), getname(req.task, req.off))


def issue_renameat(req, kernel):
    flags = req.op_flags
    # do_renameat2() rejects bad flags before any lookup.
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        return -errno.EINVAL
    if flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
        return -errno.EINVAL
    old, new = req.path
    src = host_entry(kernel, req.task, numbers.signed_fd(req.fd), old)
    dst = host_entry(kernel, req.task, numbers.signed_fd(req.len), new)
    with as_submitter(req):
        libc.renameat2(AT_FDCWD, src, AT_FDCWD, dst, flags)
    return 0


# -- UNLINKAT: fd = dirfd, addr = path, op_flags = 0 or AT_REMOVEDIR.

def prep_unlinkat(req):
    if req.off or req.len or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved unlinkat fields")
    _no_fixed_file(req)
    if req.op_flags & ~AT_REMOVEDIR:
        raise OSError(errno.EINVAL, "unknown unlinkat flags")
    req.path = getname(req.task, req.addr)


def issue_unlinkat(req, kernel):
    target = host_entry(kernel, req.task, numbers.signed_fd(req.fd), req.path)
    with as_submitter(req):
        if req.op_flags & AT_REMOVEDIR:
            os.rmdir(target)
        else:
            os.unlink(target)
    return 0


# -- MKDIRAT: fd = dirfd, addr = path, len = mode.

def prep_mkdirat(req):
    if req.off or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved mkdirat fields")
    _no_fixed_file(req)
    req.path = getname(req.task, req.addr)


def issue_mkdirat(req, kernel):
    target = host_entry(kernel, req.task, numbers.signed_fd(req.fd), req.path)
    # Linux's do_mkdirat() runs with the submitter's fs_struct (its umask).
    with req.task.umask_applied(), as_submitter(req):
        os.mkdir(target, req.len & 0xFFFF)
    return 0


# -- SYMLINKAT: addr = target (stored as written), fd = newdirfd, addr2 (off)
#    = linkpath.

def prep_symlinkat(req):
    if req.len or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved symlinkat fields")
    _no_fixed_file(req)
    req.path = (getname(req.task, req.addr), getname(req.task, req.off))


def issue_symlinkat(req, kernel):
    target, link = req.path
    where = host_entry(kernel, req.task, numbers.signed_fd(req.fd), link)
    with as_submitter(req):
        os.symlink(target, where)
    return 0


# -- LINKAT: fd = olddirfd, addr = oldpath, len = newdirfd, addr2 (off) =
#    newpath, op_flags = AT_SYMLINK_FOLLOW / AT_EMPTY_PATH.

def prep_linkat(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved linkat fields")
    _no_fixed_file(req)
    # getname_uflags(): AT_EMPTY_PATH lets the old path be empty.
    old = getname(req.task, req.addr, empty_ok=bool(req.op_flags & AT_EMPTY_PATH))
    req.path = (old, getname(req.task, req.off))


def issue_linkat(req, kernel):
    flags = req.op_flags
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL          # do_linkat() checks flags first
    old, new = req.path
    task = req.task
    olddirfd = numbers.signed_fd(req.fd)
    if not old:
        # AT_EMPTY_PATH with an empty path links the file olddirfd refers to:
        # the Sentry's fd shares that open file description.
        if olddirfd == AT_FDCWD:
            src = kernel.vfs_resolve(task, AT_FDCWD, b".", True).host_path
            dst = host_entry(kernel, task, numbers.signed_fd(req.len), new)
            with as_submitter(req):
                libc.linkat(AT_FDCWD, src, AT_FDCWD, dst, 0)
            return 0
        held = kernel.lookup_file(task, olddirfd)
        try:
            fd = getattr(held, "fd", -1)
            if fd is None or fd < 0:
                # A file the Sentry serves itself (a ring) is an anonymous
                # inode in Linux, on a mount of its own: -EXDEV.
                return -errno.EXDEV
            dst = host_entry(kernel, task, numbers.signed_fd(req.len), new)
            with as_submitter(req):
                libc.linkat(fd, b"", AT_FDCWD, dst, AT_EMPTY_PATH)
        finally:
            held.put()
        return 0
    # Linux looks the old path up completely before the new one, so its
    # errors win over the new path's (a bad newdirfd, say).
    if flags & AT_SYMLINK_FOLLOW:
        # Following the final symlink is the VFS's walk (in the guest's
        # namespace).  The host is still asked to follow: what the walk
        # reached is no symlink, unless it is a /proc magic link (the
        # /proc/self/fd/N way of naming an O_TMPFILE file), which only the
        # host kernel can follow.
        where = kernel.vfs_resolve(task, olddirfd, old, True)
        src, host_flags = where.host_path, AT_SYMLINK_FOLLOW
        if not where.exists:
            return -errno.ENOENT
    else:
        src, host_flags = host_entry(kernel, task, olddirfd, old), 0
        with as_submitter(req):
            os.lstat(src)
    dst = host_entry(kernel, task, numbers.signed_fd(req.len), new)
    with as_submitter(req):
        libc.linkat(AT_FDCWD, src, AT_FDCWD, dst, host_flags)
    return 0
