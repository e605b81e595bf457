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
from pysentry.sentry.uapi import POLLIN, POLLOUT

RECHECK = 0.01


class _Wait:
    """One one-shot wait: the token wait() returns and cancel() takes."""
    __slots__ = ("events", "callback")

    def __init__(self, events, callback):
        self.events = events
        self.callback = callback


class _FdWaits:
    """The waits on one fd, in arrival order, and the mask the loop watches.

    Counting readers and writers keeps wait()/cancel() O(1) however many
    requests wait on the fd (poll-cancel-ton: 30000 on one pipe), and the
    loop's registration is only touched when the union of events changes."""
    __slots__ = ("entries", "nin", "nout", "mask")

    def __init__(self):
        self.entries = {}      # _Wait -> None (an ordered set)
        self.nin = 0
        self.nout = 0
        self.mask = 0          # what the loop currently watches (0: nothing)

    def want(self):
        mask = (selectors.EVENT_READ if self.nin else 0) | (
            selectors.EVENT_WRITE if self.nout else 0)
        return mask or selectors.EVENT_READ


class Poller:
    def __init__(self, tracer):
        self.tracer = tracer
        self.waiting = {}     # fd -> _FdWaits
        self.edges = select.epoll()
        self.watches = {}     # dup'd fd -> Watch
        self.edges_armed = False
        self.pending = []     # (Watch, revents) taken from `edges` early (_drain_edges)

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
        token = _Wait(events, callback)
        rec = self.waiting.get(fd)
        if rec is None:
            rec = self.waiting[fd] = _FdWaits()
        rec.entries[token] = None
        if events & POLLIN:
            rec.nin += 1
        if events & POLLOUT:
            rec.nout += 1
        self._register(fd, rec)
        return token

    def cancel(self, fd, token):
        if fd is None:
            token.cancel()
            return
        rec = self.waiting.get(fd)
        if rec is None or rec.entries.pop(token, 0) is not None:
            return
        if token.events & POLLIN:
            rec.nin -= 1
        if token.events & POLLOUT:
            rec.nout -= 1
        if rec.entries:
            self._register(fd, rec)
        else:
            del self.waiting[fd]
            self.tracer.remove_reader(fd)

    def _register(self, fd, rec):
        mask = rec.want()
        if mask == rec.mask:
            return
        if rec.mask:
            self.tracer.remove_reader(fd)
        rec.mask = mask
        self.tracer.add_reader(fd, mask, lambda: self._ready(fd))

    def _ready(self, fd):
        # The loop dropped fd's registration before calling us.
        rec = self.waiting.pop(fd, None)
        if rec is None:
            return
        for token in rec.entries:
            token.callback()

    # -- persistent watches --------------------------------------------------------
    def watch(self, fd, events, callback, edge=True, ready_now=False):
        """callback(revents) on every readiness report until the watch is
        closed.  ready_now: the caller found the fd ready and acted on it
        already, so the report an edge-triggered registration makes at once
        for that readiness is dropped."""
        return Watch(self, fd, events, callback, edge, ready_now)

    def _arm_edges(self):
        # The edges epoll stays in the loop while any watch exists, rather
        # than being re-added after every report: adding an epoll fd to
        # another epoll costs a walk of everything it watches (the kernel's
        # loop check), 150-250 us with 5000 watches.
        if self.watches and not self.edges_armed:
            self.edges_armed = True
            self.tracer.add_reader(self.edges.fileno(), selectors.EVENT_READ, self._edges_ready,
                                   persistent=True)

    def _edges_ready(self):
        reports = [(self.watches.get(fd), events) for fd, events in self.edges.poll(0)]
        if self.pending:
            reports, self.pending = self.pending + reports, []
        for watch, events in reports:
            if watch is not None and watch.fd >= 0:
                watch.callback(events)

    def _drain_edges(self, skip):
        """Take the reports `edges` holds now, but for watch `skip`'s: the
        others are kept, in order, for _edges_ready, which runs soon (the
        edges fd may no longer be readable)."""
        got = [(self.watches.get(fd), events) for fd, events in self.edges.poll(0)
               if fd != skip.fd]
        if got:
            self.pending.extend(got)
            self.tracer.call_at(time.monotonic(), self._edges_ready)


class Watch:
    def __init__(self, poller, fd, events, callback, edge, ready_now=False):
        self.poller = poller
        self.fd = os.dup(fd)          # one registration per watch, even on one file
        self.callback = callback
        poller.edges.register(self.fd, events | (select.EPOLLET if edge else 0))
        poller.watches[self.fd] = self
        poller._arm_edges()
        if ready_now and edge:
            poller._drain_edges(self)

    def close(self):
        if self.fd >= 0:
            self.poller.edges.unregister(self.fd)
            del self.poller.watches[self.fd]
            os.close(self.fd)
            self.fd = -1
            if not self.poller.watches and self.poller.edges_armed:
                self.poller.edges_armed = False
                self.poller.tracer.remove_reader(self.poller.edges.fileno())
