"""IORING_OP_EPOLL_CTL (Linux's io_uring/epoll.c).

An epoll interest list is keyed by the child's own (file, fd number) pairs,
so the change must be made with the child's fd numbers, in the child: the
Sentry injects epoll_ctl(2) as task work (taskwork.py).  The epoll_event is
copied at prep, as Linux does, so a child rewriting it after submission
changes nothing.
"""
import errno
import struct

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.syscalls import numbers

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
