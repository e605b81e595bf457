"""Socket calls on raw fds with every argument Linux takes, for the Sentry's
network ops (sentry/iouring/net.py): sendmsg/recvmsg with raw address and
control buffers, connect/bind on a raw sockaddr, getsockopt of an int, and
the bytes still queued (SIOCINQ).  Python's socket module wants socket
objects and parsed addresses; these take the bytes the program gave.
Errors are raised as OSError with the host errno.
"""
import os
import select

import cffi

SOL_SOCKET = 1
SO_DOMAIN = 39
AF_INET = 2
AF_INET6 = 10
SOCKADDR_STORAGE = 128        # sizeof(struct sockaddr_storage)
_SIOCINQ = 0x541B

_ffi = cffi.FFI()
_ffi.cdef("""
struct iovec { void *iov_base; size_t iov_len; };
struct msghdr {
    void *msg_name; unsigned int msg_namelen;
    struct iovec *msg_iov; size_t msg_iovlen;
    void *msg_control; size_t msg_controllen;
    int msg_flags;
};
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
int connect(int fd, const void *addr, unsigned int len);
int bind(int fd, const void *addr, unsigned int len);
int listen(int fd, int backlog);
int shutdown(int fd, int how);
int getsockopt(int fd, int level, int name, void *val, unsigned int *len);
int ioctl(int fd, unsigned long req, ...);
""")
_lib = _ffi.dlopen(None)
# Receive buffers are overwritten by the kernel: no need to clear them (a
# large one is then only as costly as the pages the data touches).
_new_raw = _ffi.new_allocator(should_clear_after_alloc=False)


def _check(ret):
    if ret < 0:
        err = _ffi.errno
        raise OSError(err, os.strerror(err))
    return ret


def sendmsg(fd, data, name, control, flags):
    """sendmsg(2) of one buffer, or of a list of buffers (one iovec each)."""
    parts = data if isinstance(data, list) else [data]
    bufs = [_ffi.from_buffer(p) for p in parts]
    iov = _ffi.new("struct iovec[]", max(1, len(parts)))
    for i, (b, p) in enumerate(zip(bufs, parts)):
        iov[i].iov_base = b
        iov[i].iov_len = len(p)
    msg = _ffi.new("struct msghdr *")
    msg.msg_iov = iov
    msg.msg_iovlen = len(parts)
    if name:
        namebuf = _ffi.from_buffer(name)
        msg.msg_name = namebuf
        msg.msg_namelen = len(name)
    if control:
        ctlbuf = _ffi.from_buffer(control)
        msg.msg_control = ctlbuf
        msg.msg_controllen = len(control)
    return _check(_lib.sendmsg(fd, msg, flags))


def _recvmsg(fd, iov, niov, want_name, controllen, flags):
    """recvmsg(2) with a name and control buffer of the sizes asked for:
    (n, name, control, msg_flags)."""
    msg = _ffi.new("struct msghdr *")
    msg.msg_iov = iov
    msg.msg_iovlen = niov
    if want_name:
        namebuf = _ffi.new("char[]", SOCKADDR_STORAGE)
        msg.msg_name = namebuf
        msg.msg_namelen = SOCKADDR_STORAGE
    if controllen:
        ctlbuf = _ffi.new("char[]", controllen)
        msg.msg_control = ctlbuf
        msg.msg_controllen = controllen
    n = _check(_lib.recvmsg(fd, msg, flags))
    name = _ffi.buffer(namebuf, msg.msg_namelen)[:] if want_name else None
    control = _ffi.buffer(ctlbuf, msg.msg_controllen)[:] if controllen else b""
    return n, name, control, msg.msg_flags & 0xFFFFFFFF


def recvmsg(fd, size, want_name, controllen, flags):
    """recvmsg(2) into Sentry buffers: (n, data, name, control, msg_flags)."""
    buf = _new_raw("char[]", max(size, 1))
    iov = _ffi.new("struct iovec *", (buf, size))
    n, name, control, msg_flags = _recvmsg(fd, iov, 1, want_name, controllen, flags)
    return n, _ffi.buffer(buf, min(n, size))[:], name, control, msg_flags


def recvmsg_into(fd, bufs, want_name, controllen, flags):
    """recvmsg(2) into a list of buffers (one iovec each; memoryviews of
    mirrors, net.py): (n, name, control, msg_flags)."""
    cbufs = [_ffi.from_buffer(b) for b in bufs]
    iov = _ffi.new("struct iovec[]", max(1, len(bufs)))
    for i, (c, b) in enumerate(zip(cbufs, bufs)):
        iov[i].iov_base = c
        iov[i].iov_len = len(b)
    return _recvmsg(fd, iov, len(bufs), want_name, controllen, flags)


def queued(fd):
    """SIOCINQ: the bytes a receive may find (a stream's queue, a datagram
    socket's next datagram), or None where the protocol does not say."""
    val = _ffi.new("int *")
    if _lib.ioctl(fd, _SIOCINQ, val) < 0:
        return None
    return max(val[0], 0)


def inq_hint(fd):
    """The msg_inq Linux's stream protocols report after a receive: the
    bytes queued -- TCP's tcp_inq_hint() says 1 once the peer's FIN arrived
    and nothing is left, so that the reader comes back for the EOF.  A
    bundle receive (net.py) tries again only when this is above 1."""
    val = _ffi.new("int *")
    if _lib.ioctl(fd, _SIOCINQ, val) < 0:
        return 0
    if val[0] > 0 or sockopt_int(fd, SO_DOMAIN) not in (AF_INET, AF_INET6):
        return max(val[0], 0)
    p = select.poll()
    p.register(fd, select.POLLRDHUP)
    return 1 if p.poll(0) else 0


def still_queued(fd):
    """IORING_CQE_F_SOCK_NONEMPTY: Linux asks the protocol for msg_inq after
    a receive.  TCP answers tcp_inq_hint() -- the bytes queued, or 1 once the
    peer's FIN arrived, so that the reader comes back for the EOF -- and
    AF_UNIX streams the bytes queued; datagram protocols leave it unset."""
    val = _ffi.new("int *")
    if _lib.ioctl(fd, _SIOCINQ, val) < 0:
        return False
    if val[0] > 0:
        return True
    if sockopt_int(fd, SO_DOMAIN) not in (AF_INET, AF_INET6):
        return False
    p = select.poll()
    p.register(fd, select.POLLRDHUP)
    return bool(p.poll(0))


# --- prep ------------------------------------------------------------------------------


def sockopt_int(fd, name):
    val = _ffi.new("int *")
    size = _ffi.new("unsigned int *", 4)
    _check(_lib.getsockopt(fd, SOL_SOCKET, name, val, size))
    return val[0]


def getsockopt(fd, level, name, size):
    """getsockopt(2) into a buffer of `size` bytes: (bytes, length written)."""
    val = _ffi.new("char[]", max(size, 1))
    length = _ffi.new("unsigned int *", size)
    _check(_lib.getsockopt(fd, level, name, val, length))
    return _ffi.buffer(val, max(size, 1))[:], length[0]


def connect(fd, addr):
    return _check(_lib.connect(fd, _ffi.from_buffer(addr), len(addr)))


def bind(fd, addr):
    return _check(_lib.bind(fd, _ffi.from_buffer(addr), len(addr)))


def listen(fd, backlog):
    return _check(_lib.listen(fd, backlog))


def shutdown(fd, how):
    return _check(_lib.shutdown(fd, how))
