"""A thread of the sandboxed program as the Sentry sees it.

Adds to the platform's traced thread what the Sentry needs to serve it: its
memory, its fd table (shared by threads and CLONE_FILES children) and a pidfd
used to take over its file descriptions.
"""
import collections
import contextlib
import errno
import os

from pysentry.mm.child_memory import ChildMemory
from pysentry.platform import libc
from pysentry.platform.task import PtraceTask

_RED_ZONE = 128     # x86-64 SysV ABI: below %rsp, 128 bytes belong to the thread
PIDFD_THREAD = os.O_EXCL


class Task(PtraceTask):
    def __init__(self, tid, tgid, fdtable):
        super().__init__(tid, tgid)
        self.mem = ChildMemory(tid)
        self.fdtable = fdtable
        self._pidfd = -1
        self.task_work = collections.deque()   # see sentry/iouring/taskwork.py
        self.parked = None     # the io_uring_enter Waiter while parked in a wait
        self.uring_tctx = None   # registered ring fds (sentry/iouring/tctx.py)

    def pidfd(self):
        if self._pidfd < 0:
            try:
                self._pidfd = libc.pidfd_open_flags(self.tid, PIDFD_THREAD)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
                self._pidfd = libc.pidfd_open_flags(self.tid, 0)   # kernels before 6.9
        return self._pidfd

    @contextlib.contextmanager
    def umask_applied(self):
        """Create files in the Sentry as this thread would: with its umask
        (Linux applies the creating task's fs->umask), not the Sentry's.
        Setting the umask rather than masking the mode keeps a parent's
        default ACL taking precedence, as in Linux."""
        umask = 0o022
        with open("/proc/%d/status" % self.tid, "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    umask = int(line.split()[1], 8)
        old = os.umask(umask)
        try:
            yield
        finally:
            os.umask(old)

    def scratch(self, size):
        """Child memory usable during an injected syscall: below the red zone.

        The thread is stopped in a syscall, so nothing else uses its stack
        below the red zone until we return it to user mode.
        """
        sp = self.saved_regs.rsp if self.saved_regs is not None else self.regs().rsp
        return (sp - _RED_ZONE - size - 64) & ~0xF

    def release(self):
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
