"""IORING_SETUP_SQPOLL: submission with no syscall at all (io_uring/sqpoll.c).

A C thread (native/sqpoll.c) watches the SQ tail in the shared ring memory
and submits new SQEs itself, as Linux's SQ thread does in the creator's
context: hot ones run in the C data plane (dataplane.py) without the
Sentry's loop; at the first SQE the data plane does not take, the thread
hands the SQ over (the ring's owner becomes PS_OWNER_PY) and kicks the loop
through an eventfd.  The loop then submits from that SQE on, on behalf of
the ring's creator, and gives the SQ back.  The same kick tells the loop
that the thread posted completions someone in the Sentry waits for; the
thread makes the program's ring fd readable itself (ready.py).  When
idle for sq_thread_idle ms the thread sets IORING_SQ_NEED_WAKEUP and sleeps
until io_uring_enter(IORING_ENTER_SQ_WAKEUP); like Linux's, a new thread
that finds the SQ empty at its first look sleeps at once.

Without IORING_SETUP_SQ_AFF the thread floats on the Sentry's whole CPU
mask, even when CPU placement (platform/placement.py) has the trap loop
pinned as it starts.
"""
import os
import selectors

from pysentry import native
from pysentry.sentry.iouring import dataplane

DEFAULT_IDLE_MS = 1000       # Linux: an idle of 0 means one second (HZ)


def available():
    return native.lib is not None


class SqPoll:
    def __init__(self, kernel, ring, idle_ms, cpu):
        self.kernel = kernel
        self.ring = ring
        self.kick = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.wake_fd = os.eventfd(0, os.EFD_CLOEXEC)
        native.lib.ps_ring_set_owner(ring._c, native.lib.PS_OWNER_SQT)
        self.handle = native.lib.ps_sqpoll_start(ring._c, self.kick, self.wake_fd,
                                                 idle_ms or DEFAULT_IDLE_MS, cpu)
        if self.handle == native.ffi.NULL:
            native.lib.ps_ring_set_owner(ring._c, native.lib.PS_OWNER_PY)
            os.close(self.kick)
            os.close(self.wake_fd)
            raise OSError(12, "cannot start the SQ thread")
        self.pinned = cpu >= 0             # SQ_AFF: the program chose its CPU
        # pthread_create copied the trap loop's mask, maybe narrowed to its CPU.
        kernel.tracer.placement.add_sq(self)
        self._arm()

    def set_affinity(self, cpus):
        if self.pinned or self.handle is None:
            return
        bits = 0
        for cpu in cpus:
            bits |= 1 << cpu
        mask = bits.to_bytes(max(1, (max(cpus) + 8) // 8), "little")
        native.lib.ps_sqpoll_set_affinity(self.handle, native.ffi.from_buffer(mask), len(mask))

    def _arm(self):
        self.kernel.tracer.add_reader(self.kick, selectors.EVENT_READ, self._on_kick)

    def _on_kick(self):
        try:
            os.eventfd_read(self.kick)
        except BlockingIOError:
            pass
        if self.handle is None:
            return
        # Completions posted after this point kick again.
        self.ring._c.kick_pending = 0
        if not self.run_pending():
            self.ring.notify()
        self._arm()

    def run_pending(self):
        """Submit what is queued from the Sentry's loop, with the SQ claimed
        from the thread (which finishes the SQE it is on first).  True if
        anything was submitted (submit() has then notified)."""
        from pysentry.sentry.iouring import submit
        ring = self.ring
        lib = native.lib
        lib.ps_ring_set_owner(ring._c, lib.PS_OWNER_PY)
        try:
            if ring.sq_ready() and ring.sq_task is not None:
                submit.submit(self.kernel, ring, ring.sq_task, ring.sq_entries)
                return True
            return False
        finally:
            if self.handle is not None:
                lib.ps_ring_set_owner(ring._c, lib.PS_OWNER_SQT)

    def completed_in_c(self):
        """SQEs the thread completed itself (for tests and the bench)."""
        return native.lib.ps_sqpoll_count(self.handle) if self.handle is not None else 0

    def wake(self):
        native.lib.ps_sqpoll_wake(self.handle)

    def asleep(self):
        """The thread sleeps until IORING_ENTER_SQ_WAKEUP (it has set
        IORING_SQ_NEED_WAKEUP): it submits nothing meanwhile."""
        return self.handle is not None and bool(native.lib.ps_sqpoll_asleep(self.handle))

    def stop(self):
        if self.handle is None:
            return
        dataplane.STATS["sqpoll"] += self.completed_in_c()
        native.lib.ps_sqpoll_stop(self.handle)
        self.handle = None
        native.lib.ps_ring_set_owner(self.ring._c, native.lib.PS_OWNER_PY)
        self.kernel.tracer.remove_reader(self.kick)
        os.close(self.kick)
        os.close(self.wake_fd)
