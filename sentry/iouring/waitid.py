"""IORING_OP_WAITID (Linux's io_uring/waitid.c): waitid(2) on the
submitter's children, completing when one changes state instead of blocking.

Children can only be waited for (and reaped) by their own process, so the
Sentry injects waitid(2) with WNOHANG into the submitting thread (task
work); the host applies every check of its own (idtype, options, P_PIDFD's
fd) and reaps exactly as the program's own call would.  With nothing to
report yet, and without the program's WNOHANG, the request waits in
kernel.io_uring.waitids and is tried again after the next child event the
Sentry sees (every traced task's exit: it traces all of the program's
processes).  The siginfo fields Linux writes (si_signo, si_errno, si_code,
si_pid, si_uid, si_status; zeros with an error or with nothing found) go to
the program's infop only when the request completes.

Where this differs from Linux (docs/io_uring.md): WSTOPPED and WCONTINUED
waits are retried only at child exits, so a stop or continue alone does not
complete them.
"""
import errno
import struct

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.syscalls import numbers

WNOHANG = 1
_FIELDS_HEAD = struct.Struct("<iii")       # si_signo, si_errno, si_code
_FIELDS_TAIL = struct.Struct("<iIi")       # si_pid, si_uid, si_status (at offset 16)
_SIGINFO_SIZE = 128


class WaitidCmd:
    __slots__ = ("which", "upid", "options", "infop")


def prep(req):
    """io_waitid_prep: len the idtype, fd the id, file_index the options,
    addr2 (sqe->off) the siginfo; addr, buf_index, addr3 and waitid_flags 0."""
    if req.addr or req.buf_index or req.addr3 or req.op_flags:
        raise OSError(errno.EINVAL, "reserved waitid fields")
    c = req.cmd = WaitidCmd()
    c.which, c.upid, c.options, c.infop = req.len, req.fd, req.file_index, req.off


class _Watch:
    """A request waiting for a child event: in ring.multishot (so cancel,
    exit and teardown find it) and in kernel.io_uring.waitids."""
    __slots__ = ("kernel", "req")

    def __init__(self, kernel, req):
        self.kernel, self.req = kernel, req
        kernel.io_uring.waitids.append(self)

    def close(self):
        waitids = self.kernel.io_uring.waitids
        if self in waitids:
            waitids.remove(self)


def child_event(kernel):
    """A task of the program exited: try the waiting WAITIDs again."""
    reg = kernel.io_uring
    reg.child_events += 1
    watches, reg.waitids = reg.waitids, []
    for w in watches:
        req = w.req
        if req.ring.multishot.pop(req, None) is not None:
            taskwork.queue(kernel, req, _attempt)


def issue(req, kernel):
    return taskwork.queue(kernel, req, _attempt)


def _attempt(kernel, task, req):
    c = req.cmd
    nr = numbers.injected(task.stop_abi, "waitid")
    while True:
        seen = kernel.io_uring.child_events
        info = task.scratch(_SIGINFO_SIZE)
        res = yield InjectSyscall(nr, c.which, c.upid, info, c.options | WNOHANG, 0)
        if res < 0:
            fields = (0, 0, 0), (0, 0, 0)
            break
        raw = task.mem.read(info, 28)
        fields = _FIELDS_HEAD.unpack_from(raw, 0), _FIELDS_TAIL.unpack_from(raw, 16)
        if fields[1][0] or c.options & WNOHANG:
            break             # a child reported (or the program's own WNOHANG)
        if kernel.io_uring.child_events == seen:
            # Nothing yet: wait for the next child event (none was missed
            # while the call ran: the count would have moved).
            req.ring.multishot[req] = _Watch(kernel, req)
            return None
    if c.infop:
        try:
            task.mem.write(c.infop, _FIELDS_HEAD.pack(*fields[0]))
            task.mem.write(c.infop + 16, _FIELDS_TAIL.pack(*fields[1]))
        except OSError:
            return -errno.EFAULT
    return res
