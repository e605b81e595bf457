"""Task credentials, and running one Sentry operation with a task's.

Linux runs an io_uring request with the credentials of the task that
submitted it (IORING_FEAT_CUR_PERSONALITY), or with a set registered earlier
by IORING_REGISTER_PERSONALITY and named in sqe->personality.  Requests the
child runs itself (task work: OPENAT, CLOSE, ...) get that for free.  Those
the Sentry performs on the host (path ops, STATX, xattrs, direct opens, a
personality's open) must check permissions as the child would, so the Sentry
thread borrows the child's filesystem credentials around the call:

  * supplementary groups, fsgid and fsuid -- what the VFS checks;
  * the effective capability set (CAP_DAC_OVERRIDE and friends), limited to
    what the Sentry itself is permitted.

The raw syscalls change only the Sentry's calling thread, and everything is
put back on the way out.  When the child's credentials equal the Sentry's
(the usual case: both root) nothing is switched at all.
"""
import contextlib

from pysentry.platform import libc


class Creds:
    """One snapshot of a task's credentials (the parts that decide access)."""
    __slots__ = ("uids", "gids", "groups", "cap_eff")

    def __init__(self, uids, gids, groups, cap_eff):
        self.uids = uids            # (real, effective, saved, fs)
        self.gids = gids
        self.groups = groups        # sorted tuple
        self.cap_eff = cap_eff

    @property
    def fsuid(self):
        return self.uids[3]

    @property
    def fsgid(self):
        return self.gids[3]

    def _key(self):
        return (self.uids[3], self.gids[3], self.groups, self.cap_eff)

    def __eq__(self, other):
        return isinstance(other, Creds) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "Creds(uids=%r, gids=%r, groups=%r, cap_eff=%#x)" % (
            self.uids, self.gids, self.groups, self.cap_eff)


def of_task(tid):
    """The current credentials of thread tid (from /proc/<tid>/status)."""
    uids = gids = None
    groups, cap_eff = (), 0
    with open("/proc/%d/status" % tid, "rb") as f:
        for line in f:
            key, _, value = line.partition(b":")
            if key == b"Uid":
                uids = tuple(int(v) for v in value.split())
            elif key == b"Gid":
                gids = tuple(int(v) for v in value.split())
            elif key == b"Groups":
                groups = tuple(sorted(int(v) for v in value.split()))
            elif key == b"CapEff":
                cap_eff = int(value, 16)
                break           # the last field we need
    return Creds(uids, gids, groups, cap_eff)


_SENTRY = None


def sentry_creds():
    global _SENTRY
    if _SENTRY is None:
        _SENTRY = of_task(libc.lib.syscall(186))     # gettid
    return _SENTRY


class acting_as:
    """Context manager: the Sentry thread checks file access as `creds` does."""
    __slots__ = ("creds", "caps")

    def __init__(self, creds):
        self.creds = creds
        self.caps = None

    def __enter__(self):
        c = self.creds
        if c is None or c == sentry_creds():
            return self
        self.caps = libc.capget_thread()
        try:
            libc.setgroups_thread(c.groups)
            libc.setfsgid(c.fsgid)
            libc.setfsuid(c.fsuid)
            eff, perm, inh = self.caps
            libc.capset_thread(c.cap_eff & perm, perm, inh)
        except OSError:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.caps is None:
            return False
        self._restore()
        self.caps = None
        return False

    @contextlib.contextmanager
    def paused(self):
        """Run one host call as the Sentry inside this context (the path
        walk uses it for the program's own /proc entries, which Linux opens
        to a thread group whatever its credentials)."""
        if self.caps is None:
            yield
            return
        self._restore()
        try:
            yield
        finally:
            self.__enter__()

    def _restore(self):
        eff, perm, inh = self.caps
        me = sentry_creds()
        # Capabilities first: they carry CAP_SETGID for setgroups().
        libc.capset_thread(eff, perm, inh)
        libc.setfsuid(me.fsuid)
        libc.setfsgid(me.fsgid)
        libc.setgroups_thread(me.groups)
        # Going back to fsuid 0 raised the fs capabilities again; make the
        # effective set exactly what it was.
        libc.capset_thread(eff, perm, inh)
