"""fd bookkeeping: which FileDescription each child fd number refers to.

The host kernel keeps the child's real fd table; this is the Sentry's cache of
it.  Entries are added when the Sentry opens a file for the child or first
meets an fd (taking over the description with pidfd_getfd), and dropped when
the child closes the number (close, close_range, dup2/dup3 onto it, exec's
CLOEXEC sweep), so a stale entry never outlives the child's fd.  Dropping an
entry also closes the Sentry's own reference, which matters: a pipe's reader
only sees EOF once every writer -- the Sentry's copy included -- is closed.

Every change goes through the methods below: once the io_uring data plane
has a C copy of the table (cmap, sentry/iouring/dataplane.py) they update
it before the old description is put, so C never uses a host fd the Sentry
has closed.
"""


class FDTable:
    def __init__(self):
        self.entries = {}
        self.users = 0
        self.cmap = None      # the data plane's fd -> host fd map, once it needs one
        # Entries the Sentry took over from the program's fd (rather than
        # installed itself, e.g. a new ring): fd -> the install count then.
        # close() uses it to forget, at its exit, only a take-over made while
        # the host had not closed the fd yet (drop_taken_since).
        self.installs = 0
        self.taken = {}

    def install(self, fd, desc, taken_over=False):
        old = self.entries.get(fd)
        self.entries[fd] = desc
        self.installs += 1
        if taken_over:
            self.taken[fd] = self.installs
        else:
            self.taken.pop(fd, None)
        if self.cmap is not None:
            _dataplane().fdmap_set(self.cmap, fd, desc)
        if old is not None:
            old.put()

    def detach(self, fd):
        """Forget fd and return its description, reference and all (or None)."""
        desc = self.entries.pop(fd, None)
        self.taken.pop(fd, None)
        if desc is not None and self.cmap is not None:
            _dataplane().fdmap_set(self.cmap, fd, None)
        return desc

    def drop(self, fd):
        desc = self.detach(fd)
        if desc is not None:
            desc.put()

    def drop_range(self, first, last):
        for fd in [fd for fd in self.entries if first <= fd <= last]:
            self.drop(fd)

    def drop_taken_since(self, first, last, mark):
        """At a close's exit: drop what was taken over from the program's
        fds first..last after `mark` (self.installs at the close's entry) --
        another thread's stop may have taken an fd over before the host
        closed it, and that entry would outlive the fd.  What the Sentry
        installed itself is kept: once the host closed the number, another
        thread's new ring may already sit there."""
        for fd in [fd for fd, n in self.taken.items() if first <= fd <= last and n > mark]:
            self.drop(fd)

    def clear(self):
        for fd in list(self.entries):
            self.drop(fd)


def _dataplane():
    from pysentry.sentry.iouring import dataplane
    return dataplane
