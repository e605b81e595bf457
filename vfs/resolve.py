"""Path resolution in the Sentry's VFS (Linux's path walk, namei.c).

The walk runs on guest paths, component by component: each prefix is mapped
to the host through the mount table and examined with lstat(2); '..' is taken
lexically on the already-resolved guest directory (so it is never fooled by a
symlink), symlinks are read and spliced in (absolute targets restart at the
guest root), and at most 40 are followed (ELOOP), like Linux's MAXSYMLINKS.

/proc/self and /proc/thread-self name the *child*: the host's would point at
the Sentry.  Magic links under /proc/<pid>/ (fd/N, cwd, exe, root, ...) are
not text paths; the walk stops there and leaves them to the host kernel, which
follows them when the child itself opens the path.
"""
import errno
import os
import stat

PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40

_MAGIC_LEAVES = {b"cwd", b"exe", b"root"}
_MAGIC_DIRS = {b"fd", b"map_files"}


class Resolved:
    __slots__ = ("guest_path", "host_path", "mount", "exists", "is_magic", "trailing_slash")

    def __init__(self, guest_path, host_path, mount, exists, is_magic=False,
                 trailing_slash=False):
        self.guest_path = guest_path
        self.host_path = host_path
        self.mount = mount
        self.exists = exists
        self.is_magic = is_magic
        self.trailing_slash = trailing_slash


def _join(base, name):
    return base + name if base.endswith(b"/") else base + b"/" + name


def _parent(path):
    if path == b"/":
        return b"/"
    head = path.rsplit(b"/", 1)[0]
    return head or b"/"


def is_magic_link(parts):
    """parts: components of a resolved guest path below /proc.

    /proc/<pid>/{cwd,exe,root}, /proc/<pid>/{fd,map_files}/<x> and the same
    under /proc/<pid>/task/<tid>/ are magic links.
    """
    if len(parts) < 3 or parts[0] != b"proc" or not parts[1].isdigit():
        return False
    rest = parts[2:]
    if len(rest) >= 3 and rest[0] == b"task" and rest[1].isdigit():
        rest = rest[2:]
    if len(rest) == 1 and rest[0] in _MAGIC_LEAVES:
        return True
    return len(rest) == 2 and rest[0] in _MAGIC_DIRS


def resolve(mounts, path, *, cwd, dirfd_path=None, follow_last=True, tgid, tid):
    if not path:
        raise OSError(errno.ENOENT, "empty path")
    if len(path) >= PATH_MAX:
        raise OSError(errno.ENAMETOOLONG, "path too long")
    trailing_slash = path.endswith(b"/") and path.strip(b"/") != b""
    if path.startswith(b"/"):
        current = b"/"
    else:
        current = dirfd_path if dirfd_path is not None else cwd
    pending = [c for c in path.split(b"/") if c]
    links = 0
    while pending:
        name = pending.pop(0)
        if len(name) > NAME_MAX:
            raise OSError(errno.ENAMETOOLONG, "component too long")
        if name == b".":
            continue
        if name == b"..":
            current = _parent(current)
            continue
        candidate = _join(current, name)
        if candidate == b"/proc/self":
            candidate = b"/proc/%d" % tgid
        elif candidate == b"/proc/thread-self":
            candidate = b"/proc/%d/task/%d" % (tgid, tid)
        mount, host = mounts.lookup(candidate)
        last = not pending
        parts = candidate.strip(b"/").split(b"/")
        if is_magic_link(parts):
            rest = b"/".join(pending)
            host_path = _join(host, rest) if rest else host
            guest = _join(candidate, rest) if rest else candidate
            return Resolved(guest, host_path, mount, True, is_magic=True,
                            trailing_slash=trailing_slash)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            if last:
                return Resolved(candidate, host, mount, False, trailing_slash=trailing_slash)
            raise OSError(errno.ENOENT, "no such directory")
        except NotADirectoryError:
            raise OSError(errno.ENOTDIR, "not a directory")
        if stat.S_ISLNK(st.st_mode) and (not last or follow_last or trailing_slash):
            links += 1
            if links > MAXSYMLINKS:
                raise OSError(errno.ELOOP, "too many symlinks")
            target = os.readlink(host)
            if not target:
                raise OSError(errno.ENOENT, "empty symlink")
            pending = [c for c in target.split(b"/") if c] + pending
            if target.startswith(b"/"):
                current = b"/"
            continue
        if not last and not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, "not a directory")
        if last:
            if trailing_slash and not stat.S_ISDIR(st.st_mode):
                raise OSError(errno.ENOTDIR, "not a directory")
            return Resolved(candidate, host, mount, True, trailing_slash=trailing_slash)
        current = candidate
    mount, host = mounts.lookup(current)
    return Resolved(current, host, mount, True, trailing_slash=trailing_slash)
