"""IORING_OP_MADVISE and IORING_OP_FADVISE (Linux's io_uring/advise.c).

madvise acts on the submitter's address space, which the Sentry can only
reach from inside the child: the call is injected as task work
(taskwork.py), so every advice and every errno is the host's own for that
process.  fadvise acts on the file (the page cache), through the Sentry's fd
for the same open file description.
"""
import errno

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.syscalls import numbers


def prep_madvise(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved madvise fields")
    # The length is sqe->off since Linux 6.x (64-bit); sqe->len when off is 0.
    req.cmd = req.off or req.len


def issue_madvise(req, kernel):
    return taskwork.queue(kernel, req, _madvise_in_task)


def _madvise_in_task(kernel, task, req):
    return (yield InjectSyscall(numbers.injected(task.stop_abi, "madvise"), req.addr,
                                req.cmd, req.op_flags))


def prep_fadvise(req):
    if req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fadvise fields")
    # The length is sqe->addr since Linux 6.x (64-bit); sqe->len when addr is 0.
    req.cmd = req.addr or req.len


def issue_fadvise(req, kernel):
    off, length = numbers.signed64(req.off), numbers.signed64(req.cmd)
    req.file.advise(off, length, req.op_flags)
    return 0
