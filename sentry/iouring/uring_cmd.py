"""IORING_OP_URING_CMD (46) and IORING_OP_RECV_ZC (58).

URING_CMD passes a command to the file's uring_cmd handler (Linux's
io_uring/uring_cmd.c).  Of the files a sandboxed program can name only
sockets have one (io_uring_cmd_sock in 6.18): SIOCINQ and SIOCOUTQ through
the protocol's ioctl (TCP, UDP and other inet protocols; AF_UNIX and the
rest have none: -EOPNOTSUPP), GETSOCKOPT (SOL_SOCKET only) and SETSOCKOPT,
TX_TIMESTAMP (needs 32-byte CQEs: -EINVAL without them; on a CQE32 or
CQE_MIXED ring -EOPNOTSUPP, not implemented).
Every other file answers -EOPNOTSUPP, as a file without a handler does.

GETSOCKOPT and SETSOCKOPT are injected into the submitter (task work) with
the program's own fd, optval and a scratch optlen, so options that carry
pointers or fds, or install one (SO_ATTACH_FILTER, SO_ATTACH_BPF,
SO_PEERPIDFD), act in the program as Linux's do in its context.  A
registered (fixed) file has no fd number there: GETSOCKOPT is answered on
the Sentry's own description, except SO_PEERPIDFD, and SETSOCKOPT is
-EOPNOTSUPP (docs/io_uring.md, differences).

RECV_ZC needs a zero-copy receive queue (IORING_REGISTER_ZCRX_IFQ), which
no ring here can have; io_recvzc_prep() then fails with -EINVAL.
"""
import errno
import fcntl
import struct

from pysentry.platform import sockets
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import abi, taskwork
from pysentry.sentry.syscalls import numbers
from pysentry.vfs.file import HostFileDescription

URING_CMD_FIXED = 1 << 0
URING_CMD_MULTISHOT = 1 << 1
_CMD_MASK = URING_CMD_FIXED | URING_CMD_MULTISHOT

OP_SIOCINQ, OP_SIOCOUTQ, OP_GETSOCKOPT, OP_SETSOCKOPT, OP_TX_TIMESTAMP = range(5)
_SIOCINQ, _SIOCOUTQ = 0x541B, 0x5411
SOL_SOCKET = 1
SO_PROTOCOL = 38
SO_PEERPIDFD = 77
AF_INET, AF_INET6 = sockets.AF_INET, sockets.AF_INET6
_ICMP = (1, 58)               # ping sockets: their proto has no ioctl
_INT = struct.Struct("<i")
_MAX_OPTLEN = 1 << 16


class Cmd:
    __slots__ = ("op", "level", "optname", "optlen", "optval")


def prep(req):
    # sqe->cmd_op and __pad1 share sqe->off; level/optname share sqe->addr;
    # optlen is sqe->optlen (splice_fd_in); optval sqe->addr3.
    if req.off >> 32:
        raise OSError(errno.EINVAL, "__pad1")
    flags = req.op_flags
    if flags & ~_CMD_MASK:
        raise OSError(errno.EINVAL, "unknown uring_cmd flags")
    if flags & URING_CMD_FIXED and flags & URING_CMD_MULTISHOT:
        raise OSError(errno.EINVAL, "FIXED with MULTISHOT")
    if bool(flags & URING_CMD_MULTISHOT) != bool(req.flags & abi.IOSQE_BUFFER_SELECT):
        raise OSError(errno.EINVAL, "MULTISHOT goes with buffer selection")
    cmd = req.cmd = Cmd()
    cmd.op = req.off & 0xFFFFFFFF
    cmd.level = numbers.signed_fd(req.addr)
    cmd.optname = numbers.signed_fd(req.addr >> 32)
    cmd.optlen = numbers.signed_fd(req.splice_fd_in)
    cmd.optval = req.addr3


def issue(req, kernel):
    f = req.file
    if not isinstance(f, HostFileDescription) or f.kind != "sock":
        return -errno.EOPNOTSUPP          # no ->uring_cmd
    if req.ring.flags & abi.SETUP_IOPOLL:
        return -errno.EOPNOTSUPP          # sockets have no ->uring_cmd_iopoll
    cmd = req.cmd
    if cmd.op in (OP_SIOCINQ, OP_SIOCOUTQ):
        if (sockets.sockopt_int(f.fd, sockets.SO_DOMAIN) not in (AF_INET, AF_INET6)
                or sockets.sockopt_int(f.fd, SO_PROTOCOL) in _ICMP):
            return -errno.EOPNOTSUPP      # the protocol has no ioctl
        out = fcntl.ioctl(f.fd, _SIOCINQ if cmd.op == OP_SIOCINQ else _SIOCOUTQ, b"\0" * 4)
        return _INT.unpack(out)[0]
    if cmd.op == OP_GETSOCKOPT:
        if cmd.level != SOL_SOCKET:
            return -errno.EOPNOTSUPP
        if req.flags & abi.IOSQE_FIXED_FILE:
            return _getsockopt_here(req, f.fd)
        return taskwork.queue(kernel, req, _sockopt_in_task)
    if cmd.op == OP_SETSOCKOPT:
        if req.flags & abi.IOSQE_FIXED_FILE:
            return -errno.EOPNOTSUPP
        return taskwork.queue(kernel, req, _sockopt_in_task)
    if cmd.op == OP_TX_TIMESTAMP:
        if not req.ring.flags & (abi.SETUP_CQE32 | abi.SETUP_CQE_MIXED):
            return -errno.EINVAL          # io_uring_cmd_timestamp: no 32-byte CQEs
        # Linux arms a multishot poll for the socket's error queue and posts
        # each TX timestamp as a 32-byte CQE; the Sentry does not read error
        # queues for the program yet (docs/io_uring.md, differences).
        return -errno.EOPNOTSUPP
    return -errno.EOPNOTSUPP


def _sockopt_in_task(kernel, task, req):
    cmd = req.cmd
    if cmd.op == OP_SETSOCKOPT:
        return (yield InjectSyscall(numbers.injected(task.stop_abi, "setsockopt"), req.fd,
                                    cmd.level, cmd.optname, cmd.optval, cmd.optlen))
    optlen = task.scratch(_INT.size)
    task.mem.write(optlen, _INT.pack(cmd.optlen))
    res = yield InjectSyscall(numbers.injected(task.stop_abi, "getsockopt"), req.fd,
                              cmd.level, cmd.optname, cmd.optval, optlen)
    if res < 0:
        return res
    return _INT.unpack(task.mem.read(optlen, _INT.size))[0]     # the length written


def _getsockopt_here(req, fd):
    cmd = req.cmd
    if cmd.optname == SO_PEERPIDFD:
        return -errno.EOPNOTSUPP          # would install a pidfd in the Sentry
    if cmd.optlen < 0:
        return -errno.EINVAL
    val, size = sockets.getsockopt(fd, cmd.level, cmd.optname, min(cmd.optlen, _MAX_OPTLEN))
    req.task.mem.write(cmd.optval, val[:size])
    return size


def prep_recv_zc(req):
    raise OSError(errno.EINVAL, "no zero-copy receive queue")


def issue_recv_zc(req, kernel):
    return -errno.EINVAL
