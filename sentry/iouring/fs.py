"""RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT and LINKAT (Linux's io_uring/fs.c).

Like Linux, the path strings are copied at prep (getname(): a bad pointer is
-EFAULT, an empty path -ENOENT, a path of PATH_MAX bytes or more
-ENAMETOOLONG), so a child rewriting them after submission changes nothing.

At issue the Sentry walks them on file descriptors (vfs/walk.py) inside the
program's root, with the request's credentials (sentry/creds.py), so every
directory on the way is checked for search permission as Linux checks it.
Only the directory part of a path is walked (filename_parentat()); the final
component goes to the host's *at() call relative to the directory fd the walk
holds, as the program wrote it (trailing slash included).  That is how these
calls treat it in Linux -- the last name is never followed -- and every
error about it (EEXIST, EISDIR, ENOTEMPTY, ENOTDIR, ...) comes from the host
kernel itself.  No path is handed to the host for a second walk, so a
directory swapped for a symlink behind the Sentry's back cannot lead the call
out of the program's root.
"""
import errno
import os

from pysentry.platform import libc
from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.syscalls import numbers
from pysentry.vfs.walk import LAST_ROOT
from pysentry.sentry.uapi import (AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
                                  O_PATH_CLOEXEC, PATH_MAX)

RENAME_NOREPLACE = 1 << 0
RENAME_EXCHANGE = 1 << 1
RENAME_WHITEOUT = 1 << 2


def getname(task, addr, empty_ok=False):
    """Copy a path from the child as getname() does (empty_ok: LOOKUP_EMPTY)."""
    path = task.mem.read_cstring(addr, PATH_MAX)
    if not path and not empty_ok:
        raise OSError(errno.ENOENT, "empty path")
    return path


def parent_of(kernel, req, acting, dirfd, path):
    """filename_parentat() for req: a vfs.walk.Parent (its dir fd the caller's
    to close).  '/' itself comes back as '.' of the root, typed LAST_ROOT:
    every call but rmdir refuses both the same way before any lookup."""
    with kernel.walker(req.task, dirfd, path, acting=acting) as walk:
        parent = walk.lookup_parent(path)
    if parent.type == LAST_ROOT:
        parent.name = b"."
    return parent


def lookup(kernel, req, acting, dirfd, path, follow):
    """filename_lookup() for req: a vfs.walk.Found (closed by the caller)."""
    with kernel.walker(req.task, dirfd, path, acting=acting) as walk:
        return walk.lookup(path, follow)


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
    req.cmd = (getname(req.task, req.addr), getname(req.task, req.off))


def issue_renameat(req, kernel):
    flags = req.op_flags
    # do_renameat2() rejects bad flags before any lookup.
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        return -errno.EINVAL
    if flags & RENAME_NOREPLACE and flags & RENAME_EXCHANGE:
        return -errno.EINVAL
    old, new = req.cmd
    with as_submitter(req) as acting:
        src = parent_of(kernel, req, acting, numbers.signed_fd(req.fd), old)
        try:
            dst = parent_of(kernel, req, acting, numbers.signed_fd(req.len), new)
            try:
                libc.renameat2(src.dir, src.name, dst.dir, dst.name, flags)
            finally:
                dst.close()
        finally:
            src.close()
    return 0


# -- UNLINKAT: fd = dirfd, addr = path, op_flags = 0 or AT_REMOVEDIR.

def prep_unlinkat(req):
    if req.off or req.len or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved unlinkat fields")
    _no_fixed_file(req)
    if req.op_flags & ~AT_REMOVEDIR:
        raise OSError(errno.EINVAL, "unknown unlinkat flags")
    req.cmd = getname(req.task, req.addr)


def issue_unlinkat(req, kernel):
    with as_submitter(req) as acting:
        where = parent_of(kernel, req, acting, numbers.signed_fd(req.fd), req.cmd)
        try:
            if req.op_flags & AT_REMOVEDIR:
                if where.type == LAST_ROOT:
                    return -errno.EBUSY         # do_rmdir(): LAST_ROOT
                os.rmdir(where.name, dir_fd=where.dir)
            else:
                os.unlink(where.name, dir_fd=where.dir)
        finally:
            where.close()
    return 0


# -- MKDIRAT: fd = dirfd, addr = path, len = mode.

def prep_mkdirat(req):
    if req.off or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved mkdirat fields")
    _no_fixed_file(req)
    req.cmd = getname(req.task, req.addr)


def issue_mkdirat(req, kernel):
    # Linux's do_mkdirat() runs with the submitter's fs_struct (its umask).
    with req.task.umask_applied(), as_submitter(req) as acting:
        where = parent_of(kernel, req, acting, numbers.signed_fd(req.fd), req.cmd)
        try:
            os.mkdir(where.name, req.len & 0xFFFF, dir_fd=where.dir)
        finally:
            where.close()
    return 0


# -- SYMLINKAT: addr = target (stored as written), fd = newdirfd, addr2 (off)
#    = linkpath.

def prep_symlinkat(req):
    if req.len or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved symlinkat fields")
    _no_fixed_file(req)
    req.cmd = (getname(req.task, req.addr), getname(req.task, req.off))


def issue_symlinkat(req, kernel):
    target, link = req.cmd
    with as_submitter(req) as acting:
        where = parent_of(kernel, req, acting, numbers.signed_fd(req.fd), link)
        try:
            os.symlink(target, where.name, dir_fd=where.dir)
        finally:
            where.close()
    return 0


# -- LINKAT: fd = olddirfd, addr = oldpath, len = newdirfd, addr2 (off) =
#    newpath, op_flags = AT_SYMLINK_FOLLOW / AT_EMPTY_PATH.

def prep_linkat(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved linkat fields")
    _no_fixed_file(req)
    # getname_uflags(): AT_EMPTY_PATH lets the old path be empty.
    old = getname(req.task, req.addr, empty_ok=bool(req.op_flags & AT_EMPTY_PATH))
    req.cmd = (old, getname(req.task, req.off))


def issue_linkat(req, kernel):
    flags = req.op_flags
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        return -errno.EINVAL          # do_linkat() checks flags first
    old, new = req.cmd
    with as_submitter(req) as acting:
        if not old:
            src_fd, src_name, src_flags, src = _linked_by_fd(kernel, req, acting), b"", \
                AT_EMPTY_PATH, None
        else:
            # Linux looks the old path up completely (following a final
            # symlink only with AT_SYMLINK_FOLLOW) before the new one, so its
            # errors win over the new path's (a bad newdirfd, say).
            src = lookup(kernel, req, acting, numbers.signed_fd(req.fd), old,
                         bool(flags & AT_SYMLINK_FOLLOW))
            if not src.exists:
                src.close()
                return -errno.ENOENT
            if src.name is not None:
                src_fd, src_name, src_flags = src.dir, src.name, 0
            else:
                # A magic link's object (linkat(... "/proc/self/fd/N" ...,
                # AT_SYMLINK_FOLLOW), the way an O_TMPFILE file gets a name):
                # the Sentry's own /proc entry for its O_PATH fd leads there.
                src_fd, src_name, src_flags = AT_FDCWD, b"/proc/self/fd/%d" % src.fd, \
                    AT_SYMLINK_FOLLOW
        try:
            dst = parent_of(kernel, req, acting, numbers.signed_fd(req.len), new)
            try:
                libc.linkat(src_fd, src_name, dst.dir, dst.name, src_flags)
            finally:
                dst.close()
        finally:
            if src is not None:
                src.close()
            elif src_fd >= 0:
                os.close(src_fd)
    return 0


def _linked_by_fd(kernel, req, acting):
    """AT_EMPTY_PATH with an empty old path links the file olddirfd refers
    to: an fd of the Sentry's on that same open file description (linkat()
    then asks for CAP_DAC_READ_SEARCH, checked with the request's
    credentials, as Linux asks it)."""
    task, olddirfd = req.task, numbers.signed_fd(req.fd)
    if olddirfd == AT_FDCWD:
        with acting.paused():       # the program's own /proc entry
            return os.open("/proc/%d/cwd" % task.tid, O_PATH_CLOEXEC)
    held = kernel.lookup_file(task, olddirfd)
    try:
        fd = getattr(held, "fd", None)
        if fd is None or fd < 0:
            # A file the Sentry serves itself (a ring) is an anonymous
            # inode in Linux, on a mount of its own: -EXDEV.
            raise OSError(errno.EXDEV, "anonymous inode")
        return os.dup(fd)
    finally:
        held.put()
