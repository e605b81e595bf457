"""IORING_SETUP_SQPOLL: submission with no syscall at all (io_uring/sqpoll.c).

A C thread (native/sqpoll.c) watches the SQ tail in the shared ring memory
and kicks the Sentry's loop through an eventfd; the loop then submits the new
SQEs on behalf of the ring's creator, as Linux's SQ thread works in the
creator's address space.  When idle for sq_thread_idle ms the thread sets
IORING_SQ_NEED_WAKEUP and sleeps until io_uring_enter(IORING_ENTER_SQ_WAKEUP).

Without IORING_SETUP_SQ_AFF the thread floats on the Sentry's whole CPU
mask, even when CPU placement (platform/placement.py) has the trap loop
pinned as it starts.
"""
import os
import selectors

from pysentry import native
from pysentry.sentry.iouring import ring as ringmod

DEFAULT_IDLE_MS = 1000       # Linux: an idle of 0 means one second (HZ)


def available():
    return native.lib is not None


class SqPoll:
    def __init__(self, kernel, ring, idle_ms, cpu):
        self.kernel = kernel
        self.ring = ring
        self.kick = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.wake_fd = os.eventfd(0, os.EFD_CLOEXEC)
        self._mem = native.ffi.from_buffer(ring.mem)
        self.handle = native.lib.ps_sqpoll_start(
            self._mem, ringmod.SQ_HEAD, ringmod.SQ_TAIL, ringmod.SQ_FLAGS, self.kick,
            self.wake_fd, idle_ms or DEFAULT_IDLE_MS, cpu)
        if self.handle == native.ffi.NULL:
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
        self.run_pending()
        self._arm()

    def run_pending(self):
        from pysentry.sentry.iouring import submit
        ring = self.ring
        if ring.sq_ready() and ring.sq_task is not None:
            submit.submit(self.kernel, ring, ring.sq_task, ring.sq_entries)

    def wake(self):
        native.lib.ps_sqpoll_wake(self.handle)

    def stop(self):
        if self.handle is None:
            return
        native.lib.ps_sqpoll_stop(self.handle)
        self.handle = None
        self.kernel.tracer.remove_reader(self.kick)
        os.close(self.kick)
        os.close(self.wake_fd)
        self._mem = None
