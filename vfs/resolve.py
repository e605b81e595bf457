"""Path resolution in the Sentry's VFS: Linux's path walk (fs/namei.c) on guest paths.

Role: turn a path a guest syscall names (plus its starting directory: the
cwd or a dirfd) into the host path the child should really use, with the
errors Linux's walk would give.

The walk runs on the *guest* path, one component at a time.  Each step down is
mapped to the host through the mount table and examined with one lstat(2):

* '.' stays put; '..' goes to the parent of the already-resolved guest
  directory and never above '/' (Linux: the parent of the root is the root).
  Because the directory reached so far has all its symlinks resolved, this is
  the physical parent, as in Linux, not a textual one.
* A symlink is read with readlink(2) and its target spliced in front of the
  rest of the path: an absolute target restarts at the guest root (so it is
  interpreted in the guest's namespace, through the mounts), a relative one
  continues from the symlink's directory.  At most 40 are followed per walk
  (Linux's MAXSYMLINKS), then ELOOP.  The last component is followed only
  when asked (no O_NOFOLLOW / AT_SYMLINK_NOFOLLOW) or when the path ends in a
  slash (Linux sets LOOKUP_FOLLOW|LOOKUP_DIRECTORY for a trailing slash).
* Errors mirror Linux: empty path ENOENT; path of PATH_MAX (4096, counting the
  NUL) or more ENAMETOOLONG; a component over NAME_MAX (255) ENAMETOOLONG; a
  missing directory on the way ENOENT; a non-directory on the way ENOTDIR; an
  existing non-directory named with a trailing slash ENOTDIR.  A missing
  *final* component is not an error: it is reported with exists=False (and
  trailing_slash) for the caller (O_CREAT, mkdir, ...) to judge.

/proc is special because the Sentry is another process than the child:

* /proc/self and /proc/thread-self would name the Sentry, so they are walked as
  if they were symlinks to '<tgid>' and '<tgid>/task/<tid>' of the child.
* Magic links under /proc/<pid>/ (fd/N, cwd, root, exe, map_files/*, ns/*, and
  the same under task/<tid>/) are not text symlinks: readlink gives things like
  'pipe:[123]' or '/x (deleted)', while following them jumps straight to the
  open object (Linux's nd_jump_link).  The walk stops there, marks the result
  is_magic and hands back the /proc path with the remaining components
  unchanged; the host kernel follows the link when the child opens it.
"""
import errno
import os
import stat as _stat

from pysentry.vfs.mount import normalize

PATH_MAX = 4096      # including the terminating NUL (include/uapi/linux/limits.h)
NAME_MAX = 255       # longest single component
MAXSYMLINKS = 40     # symlinks followed in one walk (include/linux/namei.h)

# Entries of /proc/<pid>/ and /proc/<pid>/task/<tid>/ whose ->get_link jumps to
# an object rather than returning a path (proc_pid_get_link / proc_ns_get_link).
_MAGIC_ENTRIES = frozenset({b"cwd", b"exe", b"root"})
_MAGIC_DIRS = frozenset({b"fd", b"map_files", b"ns"})


class Resolved:
    """The outcome of a path walk.

    guest_path      normalized absolute guest path reached (the final symlink
                    itself when it was not followed); for a magic link, with
                    the unresolved remaining components appended
    host_path       the host path for the child to use (no trailing slash)
    mount           the Mount holding the final component
    exists          whether the final component exists
    is_magic        the walk stopped at a /proc magic link (or at an unfollowed
                    /proc/self or /proc/thread-self): let the child's own
                    syscall on host_path follow it
    trailing_slash  the final component was named with a trailing slash (by the
                    path or by the final symlink's target): it must be a
                    directory; for a missing one, mkdir is fine but open(O_CREAT)
                    fails with EISDIR in Linux
    st              os.lstat(host_path) if the walk made that call, else None
    """

    __slots__ = ("guest_path", "host_path", "mount", "exists", "is_magic",
                 "trailing_slash", "st")

    def __init__(self, guest_path, host_path, mount, exists, is_magic=False,
                 trailing_slash=False, st=None):
        self.guest_path = guest_path
        self.host_path = host_path
        self.mount = mount
        self.exists = exists
        self.is_magic = is_magic
        self.trailing_slash = trailing_slash
        self.st = st

    def __repr__(self):
        return ("Resolved(guest=%r, host=%r, exists=%s, magic=%s, trailing_slash=%s)"
                % (self.guest_path, self.host_path, self.exists, self.is_magic,
                   self.trailing_slash))


def is_magic_link(host_path):
    """True if host_path is itself a procfs magic link.

    That is /proc/<pid>/{cwd,exe,root}, /proc/<pid>/{fd,map_files,ns}/<name>,
    or the same under /proc/<pid>/task/<tid>/.  /proc/self and
    /proc/thread-self are ordinary (text) symlinks and are not included.
    """
    if not host_path.startswith(b"/proc/"):
        return False
    parts = host_path[6:].split(b"/")
    if len(parts) < 2 or not parts[0].isdigit():
        return False
    rest = parts[1:]
    if len(rest) >= 3 and rest[0] == b"task" and rest[1].isdigit():
        rest = rest[2:]
    if len(rest) == 1:
        return rest[0] in _MAGIC_ENTRIES
    return len(rest) == 2 and rest[0] in _MAGIC_DIRS


def _proc_self_target(host_path, tgid, tid):
    """The child's own text for /proc/self or /proc/thread-self, else None."""
    if host_path == b"/proc/self":
        return b"%d" % tgid
    if host_path == b"/proc/thread-self":
        return b"%d/task/%d" % (tgid, tid)
    return None


def _join(base, name):
    return base + name if base == b"/" else base + b"/" + name


def _parent(path):
    cut = path.rfind(b"/")
    return path[:cut] if cut > 0 else b"/"


def _components(path):
    """Components of path, last first (a stack for the walk), '//' folded."""
    parts = [c for c in path.split(b"/") if c]
    parts.reverse()
    return parts


def _magic(mount, guest, host, pending, trailing_slash):
    """Result for a walk that stopped at a magic link, the rest left unresolved."""
    if pending:
        rest = b"/".join(reversed(pending))
        guest = guest + b"/" + rest
        host = host + b"/" + rest
    try:
        # With components after the link this lstat follows the magic link in
        # the Sentry itself, which may: it is the child's tracer.
        st = os.lstat(host)
    except FileNotFoundError:
        return Resolved(guest, host, mount, False, is_magic=True,
                        trailing_slash=trailing_slash)
    except NotADirectoryError:
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), guest) from None
    return Resolved(guest, host, mount, True, is_magic=True,
                    trailing_slash=trailing_slash, st=st)


def _error(code, path):
    return OSError(code, os.strerror(code), path)


def resolve(mounts, path, *, cwd, dirfd_path=None, follow_last=True, tgid, tid, root=b"/"):
    """Walk guest ``path`` as Linux would; return a Resolved or raise OSError(errno).

    Relative paths start at ``dirfd_path`` if given, else at ``cwd`` (both
    absolute guest directory paths).  ``tgid``/``tid`` identify the calling
    child thread, for /proc/self and /proc/thread-self.
    """
    if not path:
        raise _error(errno.ENOENT, path)
    if len(path) >= PATH_MAX:
        raise _error(errno.ENAMETOOLONG, path)
    pending = _components(path)
    must_dir = path.endswith(b"/") and bool(pending)

    # root: the calling process's root directory (chroot), a guest path.
    # Absolute paths and absolute symlink targets start there and '..' never
    # climbs above it (Linux: nd->root); a walk that starts outside it (a cwd
    # left outside by chroot) is clamped only at the real '/'.
    root = normalize(root)
    if path.startswith(b"/"):
        cur_guest = root
        cur_mount, cur_host = mounts.lookup(root)
    else:
        cur_guest = normalize(dirfd_path if dirfd_path is not None else cwd)
        cur_mount, cur_host = mounts.lookup(cur_guest)

    links = 0
    while pending:
        name = pending.pop()
        if name == b".":
            continue
        if name == b"..":
            if cur_guest == b"/" or cur_guest == root:
                continue
            if cur_guest == cur_mount.guest_path:
                # Leaving a mount through its root: back into the parent mount.
                cur_guest = _parent(cur_guest)
                cur_mount, cur_host = mounts.lookup(cur_guest)
            else:
                cur_guest = _parent(cur_guest)
                cur_host = _parent(cur_host)
            continue
        if len(name) > NAME_MAX:
            raise _error(errno.ENAMETOOLONG, path)
        last = not pending
        guest = _join(cur_guest, name)
        mount = mounts.mount_at(guest)
        if mount is None:
            mount, host = cur_mount, _join(cur_host, name)
        else:
            host = mount.host_path

        if host.startswith(b"/proc/"):
            target = _proc_self_target(host, tgid, tid)
            if target is not None:
                if last and not follow_last and not must_dir:
                    # readlink/lstat of /proc/self itself: only the child's
                    # own syscall sees its own pid there.
                    return _magic(mount, guest, host, pending, must_dir)
                links += 1
                if links > MAXSYMLINKS:
                    raise _error(errno.ELOOP, path)
                pending.extend(_components(target))
                continue
            if is_magic_link(host):
                return _magic(mount, guest, host, pending, must_dir)

        try:
            st = os.lstat(host)
        except FileNotFoundError:
            if mounts.is_mount_ancestor(guest):
                # A directory leading to a mount point that the host directory
                # of the parent mount lacks: walk through it as a directory.
                if last:
                    return Resolved(guest, host, mount, True, trailing_slash=must_dir)
                cur_guest, cur_host, cur_mount = guest, host, mount
                continue
            if last:
                return Resolved(guest, host, mount, False, trailing_slash=must_dir)
            raise _error(errno.ENOENT, path) from None
        except NotADirectoryError:
            raise _error(errno.ENOTDIR, path) from None
        mode = st.st_mode

        if _stat.S_ISDIR(mode):
            if last:
                return Resolved(guest, host, mount, True, trailing_slash=must_dir, st=st)
            cur_guest, cur_host, cur_mount = guest, host, mount
            continue

        if _stat.S_ISLNK(mode) and (not last or follow_last or must_dir):
            links += 1
            if links > MAXSYMLINKS:
                raise _error(errno.ELOOP, path)
            target = os.readlink(host)
            if not target:
                # Linux refuses to follow an empty symlink.
                raise _error(errno.ENOENT, path)
            if last and target.endswith(b"/"):
                must_dir = True
            if target.startswith(b"/"):
                cur_guest = root
                cur_mount, cur_host = mounts.lookup(root)
            pending.extend(_components(target))
            continue

        if not last or must_dir:
            raise _error(errno.ENOTDIR, path)
        return Resolved(guest, host, mount, True, st=st)

    # The walk ended on a directory: '/', '.', '..' or a symlink to one of those.
    return Resolved(cur_guest, cur_host, cur_mount, True, trailing_slash=must_dir)
