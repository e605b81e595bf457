"""The Sentry's path walk: Linux's fs/namei.c, done on file descriptors.

Role: every path the Sentry resolves *for the program* (io_uring path ops,
direct and personality opens, STATX, xattrs, AF_UNIX names) goes through
here, and nothing else of the Sentry hands a program's path to the host.

Why on fds.  A path string resolved once and handed back to the host is
walked a second time, from the Sentry's own root, with the Sentry's own
credentials, while the program may be changing the tree (a directory swapped
for a symlink with renameat2(RENAME_EXCHANGE) between the two walks escapes a
chroot).  So the walk holds an O_PATH fd on every directory it reaches and
looks up exactly one component at a time relative to it:

    openat(dir, name, O_PATH | O_NOFOLLOW)

The host kernel checks search permission on `dir` for that lookup with
whatever credentials the Sentry thread carries, so a walk run inside
creds.acting_as() gets Linux's may_lookup() checks on every step.  The final
operation is then a single-component *at() call on the last directory fd (or
a reopen of the final O_PATH fd through the Sentry's own /proc/self/fd), so no
host call ever re-walks a path the program could have changed.

What the walk does itself, as fs/namei.c does it:

* '..' at the walk's root stays there (path_equal(&nd->path, &nd->root)),
  so a chroot(2)ed program's lookups cannot climb out; elsewhere the host's
  own '..' gives the physical parent, across mounts.
* Symlinks are read (readlinkat on the link's own O_PATH fd, so the link read
  is the link looked up), at most MAXSYMLINKS per walk; an absolute target
  restarts at the root (nd_jump_root).  The last component is followed only
  when asked, or when the path ends in '/'.
* /proc/self and /proc/thread-self would name the Sentry, which does the
  lookup; they are read as the program's own '<tgid>' and
  '<tgid>/task/<tid>' (proc_self_get_link() answers for the caller).
* Magic links (every symlink of procfs below its root: /proc/<pid>/fd/N, cwd,
  root, exe, ns/*, map_files/*) are not text: following one jumps to the
  object (nd_jump_link).  The walk lets the host follow that one link,
  relative to the pid directory it reached, and goes on from what it got.
  The program's own pid directories are walked with the Sentry's
  credentials: Linux lets a thread group into its own /proc entries whatever
  its credentials (same_thread_group() in __ptrace_may_access), and the
  Sentry is that thread group's stand-in.
* openat2(2)'s RESOLVE_* flags restrict this walk, never a host call from the
  Sentry's root: NO_SYMLINKS and NO_MAGICLINKS (ELOOP), NO_XDEV (EXDEV on any
  mount crossing, compared by mount id), BENEATH (EXDEV for an absolute path
  or symlink, a '..' above the dirfd, or any magic link) and IN_ROOT (the
  dirfd is the root; magic links EXDEV).  CACHED makes each one-component
  lookup an openat2(RESOLVE_CACHED), so EAGAIN comes from the host's dcache.
* fs.protected_symlinks (may_follow_link) and MNT_NOSYMFOLLOW are applied to
  the symlinks the walk follows itself.

Known differences (docs/io_uring.md): a scoped (BENEATH/IN_ROOT) walk racing
a rename is not failed with EAGAIN as Linux's rename_lock check does; and
'..' compares directories by device and inode, where Linux compares the
(mount, dentry) pair.
"""
import errno
import os
import stat as _stat

from pysentry.platform import libc

PATH_MAX = 4096      # including the NUL (include/uapi/linux/limits.h)
MAXSYMLINKS = 40     # include/linux/namei.h
PROC_SUPER_MAGIC = 0x9FA0
PROC_ROOT_INO = 1
ST_NOSYMFOLLOW = 0x2000

O_PATH = 0o10000000
_LOOKUP = O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC

# openat2(2) resolve flags (include/uapi/linux/openat2.h)
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
RESOLVE_CACHED = 0x20
RESOLVE_ALL = 0x3F
_SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT

# nd->last_type for a parent lookup (include/linux/namei.h)
LAST_NORM, LAST_ROOT, LAST_DOT, LAST_DOTDOT = range(4)


def _error(code):
    return OSError(code, os.strerror(code))


def _protected_symlinks():
    try:
        with open("/proc/sys/fs/protected_symlinks", "rb") as f:
            return f.read().strip() == b"1"
    except OSError:
        return False


_PROTECTED_SYMLINKS = _protected_symlinks()


class Found:
    """What a full lookup reached.

    fd       O_PATH fd on the final object (-1 if it does not exist)
    dir      O_PATH fd on the directory that holds it, and name its entry
             there (dir -1 and name None when the walk ended on '/', '.' or
             '..', or on what a magic link jumped to)
    st       the final object's stat (None if it does not exist)
    must_dir the path (or the final symlink's target) ended in '/'
    """

    __slots__ = ("fd", "dir", "name", "st", "must_dir")

    def __init__(self, fd, dir_fd, name, st, must_dir):
        self.fd, self.dir, self.name, self.st, self.must_dir = fd, dir_fd, name, st, must_dir

    @property
    def exists(self):
        return self.fd >= 0

    def close(self):
        for fd in (self.fd, self.dir):
            if fd >= 0:
                os.close(fd)
        self.fd = self.dir = -1


class Parent:
    """What a parent lookup reached (Linux's filename_parentat()).

    dir   O_PATH fd on the directory the last component lives in
    name  the last component as the program wrote it, trailing '/' included
          (so the host's *at() call applies Linux's rules to it itself)
    type  LAST_NORM, LAST_DOT, LAST_DOTDOT or LAST_ROOT
    """

    __slots__ = ("dir", "name", "type")

    def __init__(self, dir_fd, name, kind):
        self.dir, self.name, self.type = dir_fd, name, kind

    def close(self):
        if self.dir >= 0:
            os.close(self.dir)
            self.dir = -1


class _Dir:
    """A directory the walk stands in: its O_PATH fd (owned or borrowed),
    stat, and whether it lies in the program's own /proc/<pid> tree."""

    __slots__ = ("fd", "st", "owned", "own_proc")

    def __init__(self, fd, st, owned, own_proc=False):
        self.fd, self.st, self.owned, self.own_proc = fd, st, owned, own_proc

    def same(self, other):
        return self.st.st_ino == other.st.st_ino and self.st.st_dev == other.st.st_dev

    def release(self):
        if self.owned and self.fd >= 0:
            os.close(self.fd)
        self.fd = -1


class Walker:
    """One lookup context: the program's root, where relative paths start,
    the resolve flags, and who the program is (for /proc/self).

    root_fd, start_fd   O_PATH fds on the program's root and its starting
                        directory (cwd or dirfd); the Walker closes the ones
                        it is told it owns
    tgid, tid           the program thread the walk is for
    own_pid(pid)        is pid in the program's thread group?
    as_sentry()         a context manager that runs a host call with the
                        Sentry's own credentials (see the module docstring);
                        None when the walk already runs with them
    """

    def __init__(self, root_fd, start_fd, *, tgid, tid, own_pid=None, resolve=0,
                 as_sentry=None, owns=(), hold=None):
        self.tgid, self.tid = tgid, tid
        self.own_pid = own_pid or (lambda pid: pid == tgid)
        self.resolve = resolve
        self.as_sentry = as_sentry
        self._owned = list(owns)
        self._hold = hold            # a FileDescription whose fd is start_fd
        start = _Dir(start_fd, os.fstat(start_fd), False)
        # RESOLVE_IN_ROOT and RESOLVE_BENEATH make the dirfd the root of the
        # walk (path_init(): nd->root = nd->path for LOOKUP_IS_SCOPED).
        self.root = start if resolve & _SCOPED else _Dir(root_fd, os.fstat(root_fd), False)
        self.start = start
        self.links = 0
        self.root_set = bool(resolve & _SCOPED)   # has Linux's nd->root been set?

    def close(self):
        for fd in self._owned:
            os.close(fd)
        self._owned = []
        if self._hold is not None:
            self._hold.put()
            self._hold = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- the primitives, each one host call on one component -------------------
    def _openat(self, d, name, flags=_LOOKUP, mode=0):
        if self.resolve & RESOLVE_CACHED:
            how = libc.open_how(flags, mode, RESOLVE_CACHED)
            call = lambda: libc.openat2(d.fd, name, how)
        else:
            call = lambda: os.open(name, flags, mode, dir_fd=d.fd)
        if d.own_proc and self.as_sentry is not None:
            with self.as_sentry():
                return call()
        return call()

    def _may_lookup(self, d):
        """Search permission on d, as may_lookup() checks it for '.' and for
        a '..' that the root clamps (the host checks every other step)."""
        os.close(self._openat(d, b"."))

    def _step(self, d, name):
        """d's entry name: (fd, stat), not following a final symlink."""
        fd = self._openat(d, name)
        try:
            return fd, os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise

    def _mnt_id(self, fd):
        return libc.mount_id(fd)

    def _check_xdev(self, before_fd, after_fd):
        if self.resolve & RESOLVE_NO_XDEV and self._mnt_id(before_fd) != self._mnt_id(after_fd):
            raise _error(errno.EXDEV)

    def _is_proc_root(self, d):
        return d.st.st_ino == PROC_ROOT_INO and libc.fs_type(d.fd) == PROC_SUPER_MAGIC

    def _jump_root(self, cur):
        """An absolute path or symlink target: back to the root (nd_jump_root).

        With NO_XDEV, Linux compares the mount it stands on with nd->root's
        before set_root() has filled nd->root in: until the walk has needed
        the root (an absolute path, a '..', a scoped lookup), any absolute
        symlink is a crossing (EXDEV)."""
        if self.resolve & RESOLVE_BENEATH:
            raise _error(errno.EXDEV)
        if self.resolve & RESOLVE_NO_XDEV and cur is not None:
            if not self.root_set:
                raise _error(errno.EXDEV)
            self._check_xdev(cur.fd, self.root.fd)
        self.root_set = True
        return _Dir(self.root.fd, self.root.st, False)

    def _count_link(self):
        self.links += 1
        if self.links > MAXSYMLINKS:
            raise _error(errno.ELOOP)

    # --- symlinks ----------------------------------------------------------------
    def _link_text(self, cur, name, link_fd, link_st, trailing):
        """The target of the symlink link_fd (cur's entry name), or None for
        a magic link, with every check Linux makes before following it."""
        on_proc = libc.fs_type(cur.fd) == PROC_SUPER_MAGIC
        if on_proc and cur.st.st_ino == PROC_ROOT_INO and name in (b"self", b"thread-self"):
            # proc_self_get_link()/proc_thread_self_get_link(): the caller's pid.
            if self.resolve & RESOLVE_NO_SYMLINKS:
                raise _error(errno.ELOOP)
            self._count_link()
            if name == b"self":
                return b"%d" % self.tgid
            return b"%d/task/%d" % (self.tgid, self.tid)
        if on_proc and cur.st.st_ino != PROC_ROOT_INO:
            return None
        if self.resolve & RESOLVE_NO_SYMLINKS:
            raise _error(errno.ELOOP)
        if trailing and _PROTECTED_SYMLINKS:
            self._may_follow_link(cur, link_st)
        if libc.mount_flags(link_fd) & ST_NOSYMFOLLOW:
            raise _error(errno.ELOOP)
        self._count_link()
        target = os.readlink(b"", dir_fd=link_fd)
        if not target:
            raise _error(errno.ENOENT)       # an empty symlink is never followed
        return target

    def _may_follow_link(self, cur, link_st):
        """fs.protected_symlinks: a trailing symlink in a sticky world-writable
        directory is followed only by its owner or the directory's."""
        fsuid = libc.current_fsuid()
        if link_st.st_uid == fsuid:
            return
        if cur.st.st_mode & (_stat.S_ISVTX | _stat.S_IWOTH) != (_stat.S_ISVTX | _stat.S_IWOTH):
            return
        if cur.st.st_uid == link_st.st_uid:
            return
        raise _error(errno.EACCES)

    def _jump_magic(self, cur, name):
        """Follow the magic link cur/name (nd_jump_link): the host follows
        that one link to the object it stands for."""
        if self.resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS):
            raise _error(errno.ELOOP)
        if self.resolve & _SCOPED:
            raise _error(errno.EXDEV)        # "not currently safe for scoped-lookups"
        self._count_link()
        fd = self._openat(cur, name, O_PATH | os.O_CLOEXEC)
        try:
            self._check_xdev(cur.fd, fd)
            return _Dir(fd, os.fstat(fd), True)
        except BaseException:
            os.close(fd)
            raise

    # --- the walk ------------------------------------------------------------------
    def _begin(self, path):
        if len(path) >= PATH_MAX:
            raise _error(errno.ENAMETOOLONG)
        if path.startswith(b"/"):
            if self.resolve & RESOLVE_IN_ROOT:
                return _Dir(self.root.fd, self.root.st, False)
            return self._jump_root(None)
        return _Dir(self.start.fd, self.start.st, False)

    def _dotdot(self, cur):
        self.root_set = True              # handle_dots() calls set_root()
        if cur.same(self.root):
            if self.resolve & RESOLVE_BENEATH:
                raise _error(errno.EXDEV)
            self._may_lookup(cur)
            return cur
        fd = self._openat(cur, b"..", O_PATH | os.O_CLOEXEC)
        try:
            self._check_xdev(cur.fd, fd)
            up = _Dir(fd, os.fstat(fd), True, cur.own_proc)
        except BaseException:
            os.close(fd)
            raise
        if up.own_proc and self._is_proc_root(up):
            up.own_proc = False
        cur.release()
        return up

    def _walk(self, cur, pending, follow_last, must_dir, into_last=False):
        """Walk the component stack `pending` (last component first) from cur.

        Returns (dir, name, fd, st, must_dir): the directory holding the final
        entry, the entry's name there, and the final object's fd and stat (fd
        -1 when it does not exist).  name is None when the walk ended on a
        directory it stands in: '.', '..', '/', what a magic link jumped to,
        or (into_last) a final directory.
        """
        try:
            while pending:
                name = pending.pop()
                last = not pending
                if name == b".":
                    self._may_lookup(cur)
                    continue
                if name == b"..":
                    cur = self._dotdot(cur)
                    continue
                try:
                    fd, st = self._step(cur, name)
                except FileNotFoundError:
                    if last:
                        return cur, name, -1, None, must_dir
                    raise
                if self.resolve & RESOLVE_NO_XDEV:
                    try:
                        self._check_xdev(cur.fd, fd)     # stepping onto a mount
                    except OSError:
                        os.close(fd)
                        raise
                if _stat.S_ISLNK(st.st_mode) and (not last or follow_last or must_dir):
                    try:
                        text = self._link_text(cur, name, fd, st, last)
                        jumped = self._jump_magic(cur, name) if text is None else None
                    finally:
                        os.close(fd)
                    if jumped is not None:
                        cur.release()
                        cur = jumped
                        continue
                    if last and text.endswith(b"/"):
                        must_dir = True
                    if text.startswith(b"/"):
                        root = self._jump_root(cur)
                        cur.release()
                        cur = root
                    pending.extend(_components(text))
                    continue
                if _stat.S_ISDIR(st.st_mode) and (not last or into_last):
                    own = cur.own_proc or (name.isdigit() and self._is_proc_root(cur)
                                           and self.own_pid(int(name)))
                    cur.release()
                    cur = _Dir(fd, st, True, own)
                    continue
                if not last or (must_dir and not _stat.S_ISDIR(st.st_mode)):
                    os.close(fd)
                    raise _error(errno.ENOTDIR)
                return cur, name, fd, st, must_dir
            return cur, None, -1, None, must_dir
        except BaseException:
            cur.release()
            raise

    def lookup(self, path, follow):
        """Resolve path completely (Linux's filename_lookup()); a missing
        final component is not an error here (Found.exists is False)."""
        if not path:
            raise _error(errno.ENOENT)
        pending = _components(path)
        must_dir = path.endswith(b"/") and bool(pending)
        cur, name, fd, st, must_dir = self._walk(self._begin(path), pending, follow, must_dir)
        if name is None:
            # The walk stands on the final directory: hand over an owned fd.
            return Found(_take(cur), -1, None, cur.st, must_dir)
        return Found(fd, _take(cur), name, st, must_dir)

    def lookup_parent(self, path):
        """Walk all but the last component (filename_parentat()); the last is
        returned as written, never looked up."""
        if not path:
            raise _error(errno.ENOENT)
        start = self._begin(path)
        body = path.rstrip(b"/")
        if not body:
            return Parent(_take(start), b"/", LAST_ROOT)
        cut = body.rfind(b"/")
        last = body[cut + 1:]
        head = body[:cut + 1]
        cur, name, fd, _, _ = self._walk(start, _components(head), True, bool(head),
                                         into_last=True)
        if name is not None:
            # Every leading component is walked into as a directory, so the
            # walk can only stop on one that does not exist.
            if fd >= 0:
                os.close(fd)
            cur.release()
            raise _error(errno.ENOENT)
        kind = {b".": LAST_DOT, b"..": LAST_DOTDOT}.get(last, LAST_NORM)
        return Parent(_take(cur), path[cut + 1:], kind)

    # --- opening what was found ---------------------------------------------------
    def open(self, path, flags, mode, follow):
        """open(2) of path with flags (O_CLOEXEC added: the fd is the
        Sentry's), the last step an *at() call on the final directory fd or
        a reopen of the final object; returns the host fd."""
        for _ in range(3):
            found = self.lookup(path, follow)
            try:
                return self._open_found(found, flags, mode)
            except _Raced:
                continue
            finally:
                found.close()
        raise _error(errno.ELOOP)

    def _open_found(self, found, flags, mode):
        flags |= os.O_CLOEXEC
        if found.exists:
            if flags & os.O_CREAT and flags & os.O_EXCL:
                raise _error(errno.EEXIST)
            if _stat.S_ISLNK(found.st.st_mode):
                # A final symlink that is not followed: O_PATH|O_NOFOLLOW
                # opens the link itself; anything else is ELOOP (do_open()).
                if flags & O_PATH:
                    fd, found.fd = found.fd, -1
                    return fd
                raise _error(errno.ELOOP)
            if found.name is not None:
                return self._final_openat(found.dir, found.name, flags, mode)
            # A directory the walk stands in, or a magic link's object:
            # reopen the Sentry's own O_PATH fd through its /proc entry.
            # (O_NOFOLLOW was the walk's to apply: here it would open the
            # /proc entry itself.)
            return os.open(b"/proc/self/fd/%d" % found.fd,
                           flags & ~(os.O_CREAT | os.O_NOFOLLOW), mode)
        if not flags & os.O_CREAT:
            raise _error(errno.ENOENT)
        if found.must_dir:
            raise _error(errno.EISDIR)      # open_last_lookups(): O_CREAT of "name/"
        return self._final_openat(found.dir, found.name, flags, mode)

    def _final_openat(self, dir_fd, name, flags, mode):
        try:
            if self.resolve & RESOLVE_CACHED:
                return libc.openat2(dir_fd, name, libc.open_how(flags | os.O_NOFOLLOW, mode,
                                                                 RESOLVE_CACHED))
            return os.open(name, flags | os.O_NOFOLLOW, mode, dir_fd=dir_fd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise _Raced() from None      # it became a symlink since the walk
            raise


class _Raced(Exception):
    """The final entry changed between the walk and the open: walk again."""


def _take(d):
    """An fd on directory d that the caller owns (d's own, or a dup)."""
    if d.owned:
        fd, d.owned = d.fd, False
        return fd
    return os.dup(d.fd)


def _components(path):
    """Components of path, last first (a stack for the walk), '//' folded."""
    parts = [c for c in path.split(b"/") if c]
    parts.reverse()
    return parts
