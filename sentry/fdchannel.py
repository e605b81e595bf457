"""Passing open file descriptions between the Sentry and the child: SCM_RIGHTS.

The child's fds live in the host kernel.  The Sentry sometimes has to give the
child one of its own files (IORING_OP_FIXED_FD_INSTALL, an open made with a
personality's credentials, SCM_RIGHTS a RECVMSG received, the ring fd inside a
chroot), and sometimes to take one of the child's (when pidfd_getfd(2) is not
available, see Kernel.lookup_file).  Both go through a Unix socket: SCM_RIGHTS
passes the very same open file description (offset, status flags), needs no
ptrace access from the child to the Sentry (a child that dropped to `nobody`
may not pidfd_getfd from a root Sentry), and is allowed by every container
runtime's default seccomp profile (pidfd_getfd is not without CAP_SYS_PTRACE).

For one transfer the Sentry listens on an abstract-namespace stream socket
with a random name, and the child, stopped in the Sentry, is made to run:

    C = socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC)   C is the lowest free number
    connect(C, <the Sentry's name>)
    recvmsg(C, ...)  -> R                            (install: R is the file)
    dup3(R, C, O_CLOEXEC or 0); close(R)            the file takes C's number
or, to take the child's fds:
    sendmsg(C, SCM_RIGHTS fds...); close(C)

and the Sentry accepts the connection, checks with SO_PEERCRED that it is
the child's process, and sends or receives.  An installed fd therefore gets
the lowest free number, as Linux's fd_install() gives it.

The msghdr is built in the child's scratch memory in the layout of the ABI
the thread stopped with (64-bit, or the 32-bit compat layout of i386/x32).
"""
import array
import errno
import os
import secrets
import socket
import struct

from pysentry.platform.task import ABI_X86_64
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.syscalls.numbers import injected

SCM_MAX_FD = 253            # include/net/scm.h: fds one message can carry
_SOCK_CLOEXEC = socket.SOCK_CLOEXEC
_MSG_CTRUNC = socket.MSG_CTRUNC
_MSG_CMSG_CLOEXEC = 0x40000000


class FdNotHeld(Exception):
    """The Sentry needs these fds of the child's and, without pidfd_getfd(2),
    can only take them with syscalls injected into a stopped thread: whoever
    catches this runs take() there and tries again (Kernel.syscall, task
    work, submit._issue_one)."""

    def __init__(self, fds):
        super().__init__("fds %s are not held by the Sentry" % (list(fds),))
        self.fds = list(fds)


class _Layout:
    """struct msghdr/iovec/cmsghdr for one ABI: sizes, and how to pack them."""

    def __init__(self, word):
        self.word = word                          # 8 (x86-64) or 4 (compat)
        w = "Q" if word == 8 else "I"
        # msghdr: name, namelen, iov, iovlen, control, controllen, flags
        pad = "4x" if word == 8 else ""
        self.msghdr = struct.Struct("<" + w + "I" + pad + w * 4 + "I" + pad)
        self.iovec = struct.Struct("<" + w + w)
        self.cmsghdr = struct.Struct("<%sii" % w)  # len, level, type

    def align(self, n):
        return (n + self.word - 1) & ~(self.word - 1)

    def cmsg_space(self, nfds):
        return self.cmsghdr.size + self.align(4 * nfds)


_LAYOUTS = {True: _Layout(8), False: _Layout(4)}


class FdChannel:
    """The Sentry's end.  Each transfer listens on a name of its own: the
    Sentry serves other threads' stops between the injected steps of one,
    and two threads of one process connecting to one name could not be
    told apart (SO_PEERCRED names the process, not the thread)."""

    def __init__(self):
        self.prefix = b"\0pysentry-%d-%s-" % (os.getpid(), secrets.token_hex(8).encode())
        self.count = 0

    def listen(self):
        """A new listening socket and the sockaddr the child connects to."""
        self.count += 1
        name = self.prefix + b"%d" % self.count
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC
                             | socket.SOCK_NONBLOCK)
        try:
            sock.bind(name)
            sock.listen(1)
        except BaseException:
            sock.close()
            raise
        return sock, struct.pack("<H", socket.AF_UNIX) + name


def _accept(listener, tgid):
    """The connection the child just made, checked to be the child's."""
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            raise OSError(errno.ECONNREFUSED, "the child's connection did not arrive")
        pid, _, _ = struct.unpack("<iII", conn.getsockopt(socket.SOL_SOCKET,
                                                           socket.SO_PEERCRED, 12))
        if pid == tgid:
            conn.setblocking(True)
            return conn
        conn.close()          # someone else in this network namespace: not ours


def _connect(task, addr, scratch):
    """Generator: the child's socket C, connected to addr (>= 0), or -errno."""
    abi = task.stop_abi
    c = yield InjectSyscall(injected(abi, "socket"), socket.AF_UNIX,
                            socket.SOCK_STREAM | _SOCK_CLOEXEC, 0)
    if c < 0:
        return c
    where = scratch if scratch is not None else task.scratch(len(addr))
    task.mem.write(where, addr)
    res = yield InjectSyscall(injected(abi, "connect"), c, where, len(addr))
    if res < 0:
        yield InjectSyscall(injected(abi, "close"), c)
        return res
    return c


def _session(kernel, task, scratch):
    """Generator: (the child's connected socket C, the Sentry's end) or
    (-errno, None)."""
    listener, addr = kernel.fd_channel.listen()
    with listener:
        c = yield from _connect(task, addr, scratch)
        if c < 0:
            return c, None
        try:
            return c, _accept(listener, task.tgid)
        except OSError as e:
            yield InjectSyscall(injected(task.stop_abi, "close"), c)
            return -e.errno, None


def _msghdr(task, nfds, payload=None, scratch=None):
    """Build a msghdr for one byte plus nfds fds in scratch memory; returns
    (address of the msghdr, address of the cmsg, layout)."""
    lay = _LAYOUTS[task.stop_abi == ABI_X86_64]
    space = lay.cmsg_space(nfds)
    size = lay.msghdr.size + lay.iovec.size + lay.word + space
    base = scratch if scratch is not None else task.scratch(size)
    iov = base + lay.msghdr.size
    data = iov + lay.iovec.size
    control = data + lay.word
    if payload is None:
        cmsg = b"\0" * space
    else:
        fds = array.array("i", payload).tobytes()
        cmsg = (lay.cmsghdr.pack(lay.cmsghdr.size + len(fds), socket.SOL_SOCKET,
                                 socket.SCM_RIGHTS) + fds).ljust(space, b"\0")
    task.mem.write(base, lay.msghdr.pack(0, 0, iov, 1, control, space, 0)
                   + lay.iovec.pack(data, 1) + b"x".ljust(lay.word, b"\0") + cmsg)
    return base, control, lay


INSTALL_SCRATCH = 112      # bytes install() needs at `scratch`, on any ABI


def install(kernel, task, hostfd, cloexec, scratch=None):
    """Generator (yields InjectSyscall): give the child the Sentry's hostfd at
    its lowest free number; returns that number or -errno.

    scratch: child memory for the socket address and msghdr (at least
    INSTALL_SCRATCH bytes), where the thread's stack will not do: a 64-bit
    program making 32-bit int 0x80 calls passes only 32-bit pointers."""
    abi = task.stop_abi
    c, conn = yield from _session(kernel, task, scratch)
    if c < 0:
        return c
    with conn:
        conn.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                               array.array("i", [hostfd]))])
    msg, control, lay = _msghdr(task, 1, scratch=scratch)
    n = yield InjectSyscall(injected(abi, "recvmsg"), c, msg, _MSG_CMSG_CLOEXEC)
    got = -1
    if n >= 0:
        flags = lay.msghdr.unpack(task.mem.read(msg, lay.msghdr.size))[-1]
        head = lay.cmsghdr.unpack(task.mem.read(control, lay.cmsghdr.size))
        if not flags & _MSG_CTRUNC and head[0] >= lay.cmsghdr.size + 4:
            got = struct.unpack("<i", task.mem.read(control + lay.cmsghdr.size, 4))[0]
            # A stale cache entry for the reused number goes now, while the
            # number is ours: after the close below another thread sharing
            # the fd table may get it and have its new fd installed first.
            task.fdtable.drop(got)
    if got < 0:
        # No free fd for the second number (scm_detach_fds() truncated).
        yield InjectSyscall(injected(abi, "close"), c)
        return n if n < 0 else -errno.EMFILE
    res = yield InjectSyscall(injected(abi, "dup3"), got, c, os.O_CLOEXEC if cloexec else 0)
    yield InjectSyscall(injected(abi, "close"), got)
    if res < 0:
        yield InjectSyscall(injected(abi, "close"), c)
        return res
    # The Sentry's fd cache may hold a stale entry for a number the child
    # reused behind its back; the new fd is taken over lazily on first use.
    task.fdtable.drop(c)
    return c


def take(kernel, task, fds):
    """Generator: the Sentry's own fds for the child's fds (same open file
    descriptions), as a list in the same order; -errno if the transfer
    failed (-EBADF when one of them is not open)."""
    abi = task.stop_abi
    c, conn = yield from _session(kernel, task, None)
    if c < 0:
        return c
    with conn:
        got = []
        for first in range(0, len(fds), SCM_MAX_FD):
            chunk = fds[first:first + SCM_MAX_FD]
            msg, _, _ = _msghdr(task, len(chunk), chunk)
            n = yield InjectSyscall(injected(abi, "sendmsg"), c, msg, socket.MSG_NOSIGNAL)
            if n < 0:
                for fd in got:
                    os.close(fd)
                yield InjectSyscall(injected(abi, "close"), c)
                return n
            _, ancdata, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(4 * len(chunk)))
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    got.extend(array.array("i", data[:len(data) - len(data) % 4]))
    yield InjectSyscall(injected(abi, "close"), c)
    return got
