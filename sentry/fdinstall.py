"""Giving the child a new fd for a file the Sentry holds.

The Sentry sometimes holds a file the child must receive as an ordinary fd:
IORING_OP_FIXED_FD_INSTALL turns a registered file into one, and a received
SCM_RIGHTS message carries fds into whoever receives it.  Linux's fd_install()
puts the file at the lowest free number of the caller's table; the Sentry
gets the same result with syscalls injected into the child thread (which must
be stopped in the Sentry, see sentry/iouring/taskwork.py):

    P = pidfd_open(sentry)         P is the lowest free number
    G = pidfd_getfd(P, hostfd)     G shares the Sentry's open file description
    dup3(G, P, O_CLOEXEC or 0)     the file replaces the pidfd at the lowest number
    close(G)

so the fd numbering the child sees is exactly Linux's, and the file is the
very same open file description (offset, flags) the Sentry holds.
"""
import os

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.syscalls.numbers import injected

O_CLOEXEC = os.O_CLOEXEC


def install(task, hostfd, cloexec):
    """Generator (yields InjectSyscall): the child's new fd, or -errno."""
    abi = task.stop_abi
    pidfd = yield InjectSyscall(injected(abi, "pidfd_open"), os.getpid(), 0)
    if pidfd < 0:
        return pidfd
    newfd = yield InjectSyscall(injected(abi, "pidfd_getfd"), pidfd, hostfd, 0)
    if newfd < 0:
        yield InjectSyscall(injected(abi, "close"), pidfd)
        return newfd
    res = yield InjectSyscall(injected(abi, "dup3"), newfd, pidfd, O_CLOEXEC if cloexec else 0)
    yield InjectSyscall(injected(abi, "close"), newfd)
    if res < 0:
        yield InjectSyscall(injected(abi, "close"), pidfd)
        return res
    # The Sentry's fd cache may hold a stale entry for a number the child
    # reused behind its back; the new fd is taken over lazily on first use.
    task.fdtable.drop(pidfd)
    task.fdtable.drop(newfd)
    return pidfd
