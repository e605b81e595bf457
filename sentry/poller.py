"""Readiness waiting for Sentry-held file descriptors (the Sentry's wait queues).

Two kinds of wait:
  * wait(): one-shot.  Several requests may wait on one fd; the loop is told
    once, with the union of their events, and every waiter is called back
    when the fd becomes ready (each re-arms if it still cannot proceed).
  * watch(): persistent, for multishot polls.  Edge-triggered by default (a
    report per new event, like Linux's multishot poll), level-triggered on
    request (IORING_POLL_ADD_LEVEL).  Watches live in one epoll instance whose
    own fd sits in the Sentry's loop.
"""
import os
import select
import selectors
import time

POLLIN = 0x001
POLLOUT = 0x004
RECHECK = 0.01


class Poller:
    def __init__(self, tracer):
        self.tracer = tracer
        self.waiting = {}     # fd -> [[events, callback], ...]
        self.edges = select.epoll()
        self.watches = {}     # dup'd fd -> Watch
        self.edges_armed = False

    def busy(self):
        """Whether any request waits for readiness at all."""
        return bool(self.waiting or self.watches)

    # -- one-shot waits ---------------------------------------------------------
    def wait(self, fd, events, callback):
        """Call callback() once fd is ready; returns a token for cancel().

        fd None means the readiness cannot be watched from the Sentry (a
        signalfd): the callback runs again after RECHECK seconds instead."""
        if fd is None:
            return self.tracer.call_at(time.monotonic() + RECHECK, callback)
        entry = [events, callback]
        self.waiting.setdefault(fd, []).append(entry)
        self._register(fd)
        return entry

    def cancel(self, fd, token):
        if fd is None:
            token.cancel()
            return
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

    # -- persistent watches --------------------------------------------------------
    def watch(self, fd, events, callback, edge=True):
        """callback(revents) on every readiness report until the watch is closed."""
        return Watch(self, fd, events, callback, edge)

    def _arm_edges(self):
        if self.watches and not self.edges_armed:
            self.edges_armed = True
            self.tracer.add_reader(self.edges.fileno(), selectors.EVENT_READ, self._edges_ready)

    def _edges_ready(self):
        self.edges_armed = False
        for fd, events in self.edges.poll(0):
            watch = self.watches.get(fd)
            if watch is not None:
                watch.callback(events)
        self._arm_edges()


class Watch:
    def __init__(self, poller, fd, events, callback, edge):
        self.poller = poller
        self.fd = os.dup(fd)          # one registration per watch, even on one file
        self.callback = callback
        poller.edges.register(self.fd, events | (select.EPOLLET if edge else 0))
        poller.watches[self.fd] = self
        poller._arm_edges()

    def close(self):
        if self.fd >= 0:
            self.poller.edges.unregister(self.fd)
            del self.poller.watches[self.fd]
            os.close(self.fd)
            self.fd = -1
