"""Readiness waiting for Sentry-held file descriptors (the Sentry's wait queues).

Several requests may wait on one fd; the loop is told once, with the union of
the events, and every waiter is called back when the fd becomes ready (each
re-arms if it still cannot proceed).  A waiter can be withdrawn alone.
"""
import selectors

POLLIN = 0x001
POLLOUT = 0x004


class Poller:
    def __init__(self, tracer):
        self.tracer = tracer
        self.waiting = {}     # fd -> [[events, callback], ...]

    def wait(self, fd, events, callback):
        """Call callback() once fd is ready; returns a token for cancel()."""
        entry = [events, callback]
        self.waiting.setdefault(fd, []).append(entry)
        self._register(fd)
        return entry

    def cancel(self, fd, token):
        entries = self.waiting.get(fd)
        if not entries or token not in entries:
            return
        entries.remove(token)
        if entries:
            self._register(fd)
        else:
            del self.waiting[fd]
            self.tracer.remove_reader(fd)

    def _register(self, fd):
        mask = 0
        for ev, _ in self.waiting[fd]:
            if ev & POLLIN:
                mask |= selectors.EVENT_READ
            if ev & POLLOUT:
                mask |= selectors.EVENT_WRITE
        self.tracer.remove_reader(fd)
        self.tracer.add_reader(fd, mask or selectors.EVENT_READ, lambda: self._ready(fd))

    def _ready(self, fd):
        for _, callback in self.waiting.pop(fd, []):
            callback()
