"""SOCKET and ACCEPT: the network ops that create fds.

Linux keeps them in io_uring/net.c with the data-moving ops (net.py here);
they live apart because, like OPENAT, a new normal fd must land in the
child's fd table, so they run as task work in the submitting thread (an
injected socket/accept4, see taskwork.py).  Direct descriptors
(sqe->file_index) go into the ring's fixed file table instead.

ACCEPT never blocks the Sentry: it waits for the listener's readiness in
the Sentry's loop (the internal poll Linux arms on -EAGAIN) and only then
accepts in the child.  IORING_ACCEPT_MULTISHOT posts a CQE with
IORING_CQE_F_MORE per connection and re-arms; IORING_ACCEPT_DONTWAIT
returns -EAGAIN instead of waiting.
"""
import errno
import os
import socket

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import filetable, taskwork
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.iouring.request import Unfailed
from pysentry.sentry.syscalls import numbers
from pysentry.vfs.file import HostFileDescription
from pysentry.sentry.iouring.abi import CQE_F_MORE
from pysentry.sentry.uapi import POLLIN

SOCK_TYPE_MASK = 0xF
SOCK_CLOEXEC = os.O_CLOEXEC
SOCK_NONBLOCK = os.O_NONBLOCK
ACCEPT_MULTISHOT = 1 << 0
ACCEPT_DONTWAIT = 1 << 1
ACCEPT_POLL_FIRST = 1 << 2
_ACCEPT_FLAGS = ACCEPT_MULTISHOT | ACCEPT_DONTWAIT | ACCEPT_POLL_FIRST


# --- SOCKET ------------------------------------------------------------------------
def prep_socket(req):
    if req.addr or req.op_flags or req.buf_index:
        raise OSError(errno.EINVAL, "reserved socket fields")
    flags = req.off & ~SOCK_TYPE_MASK
    if req.file_index and flags & SOCK_CLOEXEC:
        raise OSError(errno.EINVAL, "SOCK_CLOEXEC on a direct descriptor")
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise OSError(errno.EINVAL, "unknown socket flags")


def issue_socket(req, kernel):
    domain, stype, proto = numbers.signed_fd(req.fd), req.off & 0xFFFFFFFF, req.len
    if req.file_index:
        # A direct socket never enters the fd table: the Sentry creates it.
        with as_submitter(req):
            sock = socket.socket(domain, stype | SOCK_CLOEXEC, proto)
        desc = HostFileDescription(sock.detach())
        try:
            return filetable.install_direct(req.ring, desc, req.file_index)
        except OSError as e:
            # io_socket() marks only a failed socket creation failed: an
            # error of io_fixed_fd_install() (no table: ENXIO, a bad slot)
            # is posted without req_set_fail, so it breaks no link.
            return Unfailed(-e.errno)
    return taskwork.queue(kernel, req, _socket_in_task)


def _socket_in_task(kernel, task, req):
    domain, stype, proto = numbers.signed_fd(req.fd), req.off & 0xFFFFFFFF, req.len
    return (yield InjectSyscall(numbers.injected(task.stop_abi, "socket"), domain, stype, proto))


# --- ACCEPT ------------------------------------------------------------------------
def prep_accept(req):
    if req.len or req.buf_index:
        raise OSError(errno.EINVAL, "reserved accept fields")
    if req.ioprio & ~_ACCEPT_FLAGS:
        raise OSError(errno.EINVAL, "unknown accept flags")
    slot = req.file_index
    if slot:
        if req.op_flags & SOCK_CLOEXEC:
            raise OSError(errno.EINVAL, "SOCK_CLOEXEC on a direct descriptor")
        if req.ioprio & ACCEPT_MULTISHOT and slot != filetable.FILE_INDEX_ALLOC:
            raise OSError(errno.EINVAL, "multishot accept into one slot")
    if req.op_flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise OSError(errno.EINVAL, "unknown accept4 flags")


def _waits(file):
    """Whether an accept on this file can wait for a connection.

    Only a listening socket can: on anything else Linux's accept fails at
    once (inet/unix accept: EINVAL on a socket not listening, EOPNOTSUPP on
    one that cannot listen, ENOTSOCK on a non-socket) and io_uring posts
    that error, never arming a poll.  So the injected accept4 runs at once
    and gives the errno; waiting for POLLIN would lose the CQE."""
    fd = getattr(file, "fd", -1) if isinstance(file, HostFileDescription) else -1
    if fd < 0:
        return True
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return False                      # not a socket: ENOTSOCK at once
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:
        return False
    finally:
        sock.detach()


def issue_accept(req, kernel):
    if not req.file.ready(POLLIN) and _waits(req.file):
        if req.ioprio & ACCEPT_DONTWAIT:
            return -errno.EAGAIN
        return None          # nothing to accept yet: wait (POLLIN), then issue again
    return taskwork.queue(kernel, req, _accept_in_task)


def _accept_in_task(kernel, task, req):
    """Accept in the child (addr/addrlen are the child's own pointers).

    Only once the listener is readable, so that the injected accept4 does
    not block the thread (a blocking listener could otherwise hold it)."""
    if not req.file.ready(POLLIN) and _waits(req.file):
        if req.ioprio & ACCEPT_DONTWAIT:
            return -errno.EAGAIN
        _rearm(kernel, req)
        return None
    abi_ = task.stop_abi
    slot = req.file_index
    flags = req.op_flags
    res = yield InjectSyscall(numbers.injected(abi_, "accept4"), req.fd, req.addr, req.off,
                              flags | (SOCK_CLOEXEC if slot else 0))
    if res == -errno.EAGAIN and not req.ioprio & ACCEPT_DONTWAIT:
        _rearm(kernel, req)               # another thread took the connection first
        return None
    if res >= 0:
        task.fdtable.drop(res)
        if slot:
            res = yield from _to_direct(kernel, task, req, res)
    if res >= 0 and req.ioprio & ACCEPT_MULTISHOT:
        req.ring.post(req.user_data, res, CQE_F_MORE)
        req.ring.notify()
        _rearm(kernel, req)
        return None
    return res


def _to_direct(kernel, task, req, fd):
    """Move the child's freshly accepted fd into the ring's table."""
    res = yield from kernel.take_fds(task, [fd])
    desc = task.fdtable.detach(fd) if res == 0 else None
    yield InjectSyscall(numbers.injected(task.stop_abi, "close"), fd)
    if desc is None:
        return res if res < 0 else -errno.EBADF
    try:
        return filetable.install_direct(req.ring, desc, req.file_index)
    except OSError as e:
        return -e.errno


def _rearm(kernel, req):
    from pysentry.sentry.iouring import submit
    ring = req.ring
    ring.pending[req] = kernel.poller.wait(req.file.poll_fd(), POLLIN,
                                           lambda: submit.retry(kernel, req))

