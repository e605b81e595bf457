"""The readiness of the program's ring fd under poll, epoll and select.

Linux's io_uring fd is pollable (io_uring_poll): POLLIN while CQEs are
waiting (overflowed ones and, on a DEFER_TASKRUN ring, deferred work
included), POLLOUT while the SQ has room, and every batch of completions
wakes its waiters (io_cqring_wake), so edge-triggered epoll sees each one.
Event loops (libuv, qemu, tokio) wait on it with epoll.

The fd the program holds is an eventfd whose open file description the
Sentry shares (given by SCM_RIGHTS at io_uring_setup); mmap of the ring
offsets on it is trapped and mapped onto the ring's shared memory
(syscalls/fs.py).  The Sentry keeps the eventfd's count non-zero exactly
while the ring has events:

* every notify() that follows new completions writes 1 to it: it becomes
  readable, and an edge-triggered watcher gets a new edge for the batch;
* it is drained once the ring has no events left.  The program consumes
  CQEs by moving the CQ head in shared memory, with no syscall the Sentry
  could see, so the Sentry looks again whenever that could matter: at every
  io_uring_enter on the ring, and at the entry of every poll, select and
  epoll wait of a process that has a ring (syscalls/waits.py traces those
  in such processes only) -- so a wait never sees a stale readiness.

With the C data plane (dataplane.py) an SQPOLL ring's SQ thread posts CQEs
with no Python in the way: it writes the eventfd itself after each batch
(ps_ring_set_ready_fd; a new edge per batch) and raises a flag first, which
refresh() folds into `set` before deciding, and after draining it looks at
the CQ again in case the thread posted meanwhile.  The "posted when last
made readable" mark then lives in the ring's C block, shared by both sides.

An eventfd is always writable, so POLLOUT is reported even when the SQ is
full, and /proc shows `anon_inode:[eventfd]` (docs/io_uring.md lists both).
"""
import os

from pysentry import native


def eventfd_id(fdinfo_path):
    """The eventfd-id line of an fdinfo file; None if it is no eventfd."""
    with open(fdinfo_path, "rb") as f:
        for line in f:
            if line.startswith(b"eventfd-id:"):
                return int(line.split()[1])
    return None


class RingReadiness:
    """The eventfd behind a ring's program-side fd, and its count's upkeep."""

    __slots__ = ("ring", "fd", "id", "_set", "seen")

    def __init__(self, ring):
        self.ring = ring
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.id = eventfd_id("/proc/self/fdinfo/%d" % self.fd)
        self._set = False         # the count is non-zero (without a C block)
        self.seen = 0             # ring.posted when last signalled

    # With a C block the flag lives there: the trap step's io_uring_enter
    # (dataplane.c ps_dp_enter) does completed() and refresh() too.
    @property
    def set(self):
        c = self.ring._c
        return bool(c.ready_set) if c is not None else self._set

    @set.setter
    def set(self, value):
        c = self.ring._c
        if c is not None:
            c.ready_set = int(value)
        else:
            self._set = value

    def _has_events(self):
        ring = self.ring
        return ring.events_available() or bool(ring.local_cqes)

    def completed(self):
        """notify(): new completions make the fd readable (a new edge)."""
        ring = self.ring
        c = ring._c
        if c is not None:
            if not native.lib.ps_ring_take_ready(c) and not ring.local_cqes:
                return
        else:
            if ring.posted == self.seen and not ring.local_cqes:
                return
            self.seen = ring.posted
        if not self._has_events():
            return
        os.eventfd_write(self.fd, 1)
        self.set = True

    def refresh(self):
        """Make readability match the ring now (io_uring_enter, a wait)."""
        c = self.ring._c
        if c is not None and c.ready_raised:
            c.ready_raised = 0          # the SQ thread wrote the eventfd
            self.set = True
        if self._has_events():
            if not self.set:
                os.eventfd_write(self.fd, 1)
                self.set = True
            return
        if self.set:
            try:
                os.eventfd_read(self.fd)
            except BlockingIOError:
                pass
            self.set = False
            if c is not None and self._has_events():
                # The SQ thread posted between the look and the drain.
                os.eventfd_write(self.fd, 1)
                self.set = True

    def release(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
