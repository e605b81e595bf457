"""IORING_OP_EPOLL_CTL and IORING_OP_EPOLL_WAIT (Linux's io_uring/epoll.c).

An epoll interest list is keyed by the child's own (file, fd number) pairs,
so the change must be made with the child's fd numbers, in the child: the
Sentry injects epoll_ctl(2) as task work (taskwork.py).  The epoll_event is
copied at prep, as Linux does, so a child rewriting it after submission
changes nothing.
"""
import errno
import struct

from pysentry.platform import libc
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.syscalls import numbers
from pysentry.vfs.file import _anon_name

EPOLL_CTL_DEL = 2
EPOLL_EVENT = struct.Struct("<IQ")     # packed on x86-64: events, data


def prep(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved epoll fields")
    req.cmd = None
    if req.len != EPOLL_CTL_DEL:
        req.cmd = req.task.mem.read(req.addr, EPOLL_EVENT.size)   # EFAULT if bad


def issue(req, kernel):
    return taskwork.queue(kernel, req, _ctl_in_task)


def _ctl_in_task(kernel, task, req):
    event = 0
    if req.cmd is not None:
        event = task.scratch(EPOLL_EVENT.size)
        task.mem.write(event, req.cmd)
    return (yield InjectSyscall(numbers.injected(task.stop_abi, "epoll_ctl"), req.fd, req.len,
                                req.off, event))


# -- EPOLL_WAIT ---------------------------------------------------------------------
# io_epoll_wait(): epoll_sendevents() on the epoll file, never blocking: with
# nothing ready the request waits for the epoll fd to be readable (the FAST_POLL
# retry) and tries again.  The epoll instance is shared with the program (the
# Sentry holds the same open file description), so the Sentry's epoll_wait
# takes the program's events -- edge-triggered and one-shot items included --
# and copies them out.
EP_MAX_EVENTS = 0x7FFFFFFF // EPOLL_EVENT.size
_SYS_EPOLL_WAIT = 232       # the Sentry's own call, on x86-64
_SENTRY_MAX = 4096     # events taken per issue (fewer than ready is what epoll_wait may return)


def prep_wait(req):
    if req.off or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved epoll_wait fields")
    req.cmd = None


def issue_wait(req, kernel):
    maxevents = req.len
    if maxevents == 0 or maxevents > EP_MAX_EVENTS:     # an int: 0, negative or too many
        raise OSError(errno.EINVAL, "bad maxevents")
    f = req.file
    if getattr(f, "fd", None) is None or _anon_name(f.fd) != "[eventpoll]":
        raise OSError(errno.EINVAL, "not an epoll fd")
    # The first event's slot must be writable before any event is taken:
    # Linux puts an event it could not copy back on the ready list.
    first = req.task.mem.read(req.addr, EPOLL_EVENT.size)
    req.task.mem.write(req.addr, first)
    # A ring fd in the interest list must show the CQ as it is now (ready.py).
    kernel.io_uring.refresh_readiness()
    n = min(maxevents, _SENTRY_MAX)
    buf = libc.ffi.new("char[]", n * EPOLL_EVENT.size)
    got = libc.lib.syscall(_SYS_EPOLL_WAIT, libc.ffi.cast("int", f.fd), buf,
                           libc.ffi.cast("int", n), libc.ffi.cast("int", 0))
    if got < 0:
        raise OSError(libc.ffi.errno, "epoll_wait")
    if got == 0:
        return None           # nothing ready: wait for the epoll fd (POLLIN), then again
    data = bytes(libc.ffi.buffer(buf, got * EPOLL_EVENT.size))
    try:
        req.task.mem.write(req.addr, data)
    except OSError:
        # A later slot unwritable: deliver what fits, event by event.
        done = 0
        for i in range(got):
            off = i * EPOLL_EVENT.size
            try:
                req.task.mem.write(req.addr + off, data[off:off + EPOLL_EVENT.size])
            except OSError:
                break
            done += 1
        return done
    return got

