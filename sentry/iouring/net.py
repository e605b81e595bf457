"""SEND, RECV, SENDMSG, RECVMSG, SEND_ZC, SENDMSG_ZC, CONNECT, SHUTDOWN, BIND, LISTEN.

The data-moving and address-taking socket ops of Linux's io_uring/net.c
(SOCKET and ACCEPT, which make fds in the child, are in socket_fd.py; control
messages and SCM_RIGHTS in net_cmsg.py; the raw socket calls in
platform/sockets.py).  The
socket is req.file, a HostFileDescription whose fd shares the child's open
file description, so every call here acts on the child's own socket.

Never blocking the Sentry.  Linux issues these ops non-blocking first and,
on -EAGAIN, arms an internal poll and issues again when the socket is ready.
Here every send/recv carries MSG_DONTWAIT (a per-call flag: the O_NONBLOCK
the child set or did not set on the shared description is left alone), and
a call that would block returns None with req.poll_events set, which makes
submit.py wait for readiness and issue again.  The child's own MSG_DONTWAIT
(REQ_F_NOWAIT in Linux) means "complete with -EAGAIN instead of waiting".

MSG_WAITALL.  As io_net_retry() does, a stream or seqpacket socket that moved
fewer bytes than asked goes on from where it stopped (progress is kept in the
request's NetState) until the whole length is done, the peer closes, or an
error comes; a shortfall then fails the link.

Provided buffers.  RECV and RECVMSG may receive into, and SEND send from,
a buffer of a provided-buffer group (IOSQE_BUFFER_SELECT, kbuf.py); with
IORING_RECVSEND_BUNDLE a SEND or RECV moves data through several buffers of
a group at once (_send_rounds, _recv_bundle), as Linux 6.18 does.

Data is staged in the Sentry: gathered from child memory into a bytes buffer
and sent with sendmsg(2) on the Sentry's fd, or received with recvmsg(2) and
scattered into the child's iovecs.  SEND_ZC/SENDMSG_ZC are served the same
way (a copy, which Linux allows: its loopback "zero copy" copies too) and
post the notification CQE Linux posts once the buffer may be reused.
"""
import contextlib
import errno
import fcntl
import os
import struct

from pysentry.mm import iov as iovmod
from pysentry.mm.child_memory import MAX_RW_COUNT, access_ok
from pysentry.platform import sockets
from pysentry.platform.libc import ffi, lib
from pysentry.platform.sockets import SOCKADDR_STORAGE
from pysentry.sentry.fscontext import borrowed_fs
from pysentry.sentry.iouring import abi, kbuf, net_cmsg, taskwork
from pysentry.sentry.iouring.request import IOWQ_PUNT
from pysentry.sentry.iouring.abi import CQE_F_MORE, CQE_F_NOTIF, CQE_F_SOCK_NONEMPTY
from pysentry.sentry.iouring.net_cmsg import (MSG_CMSG_CLOEXEC, MSG_CMSG_COMPAT, MSG_CTRUNC,
                                              SCM_RIGHTS, SOL_SOCKET)
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.uapi import POLLIN, POLLOUT
from pysentry.vfs.file import HostFileDescription


# include/linux/socket.h
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_WAITALL = 0x100
MSG_NOSIGNAL = 0x4000
SO_TYPE = 3
SO_ERROR = 4
SO_PROTOCOL = 38
SO_DOMAIN = 39
SOCK_STREAM = 1
SOCK_SEQPACKET = 5
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
IPPROTO_TCP = 6
IPPROTO_UDP = 17

# sqe->ioprio flags of the send/recv family (uapi io_uring.h)
RECVSEND_POLL_FIRST = 1 << 0
RECV_MULTISHOT = 1 << 1
RECVSEND_FIXED_BUF = 1 << 2
SEND_ZC_REPORT_USAGE = 1 << 3
RECVSEND_BUNDLE = 1 << 4
_SENDMSG_FLAGS = RECVSEND_POLL_FIRST | RECVSEND_BUNDLE
_RECVMSG_FLAGS = RECVSEND_POLL_FIRST | RECV_MULTISHOT | RECVSEND_BUNDLE
_ZC_FLAGS = RECVSEND_POLL_FIRST | RECVSEND_FIXED_BUF | SEND_ZC_REPORT_USAGE

NOTIF_USAGE_ZC_COPIED = 1 << 31

# The most one stream send/recv stages at once.  A stream may legally move
# less than asked; with MSG_WAITALL the loop below goes on.  Datagrams are
# staged whole (their size is bounded by the socket buffer anyway).
_STREAM_CHUNK = 16 << 20
_DGRAM_MAX = 64 << 20
_CONTROL_MAX = 1 << 16

_MSGHDR = struct.Struct("<QixxxxQQQQIxxxx")  # struct user_msghdr
_MSGHDR32 = struct.Struct("<IiIIIII")       # struct compat_msghdr
_FAIL = object()       # req.expected that no result equals: the link fails


class NetState:
    """Per-request state kept across issues (Linux's io_sr_msg / io_connect)."""

    __slots__ = ("flags", "msg_flags", "iovs", "name", "control", "umsg", "namelen_user",
                 "name_user", "control_user", "controllen_user", "done", "polled",
                 "in_progress", "seen_aborted", "stype", "zc", "notif", "sent", "pick", "sel_len",
                 "nr_iovs", "inq", "waitall", "total_left")

    def __init__(self):
        self.flags = 0            # sqe->ioprio: RECVSEND_* flags
        self.msg_flags = 0
        self.iovs = None
        self.name = None          # destination address bytes (sends, connect, bind)
        self.control = None       # SENDMSG: the child's control bytes
        self.umsg = 0             # RECVMSG: the child's struct msghdr
        self.name_user = 0
        self.namelen_user = 0
        self.control_user = 0
        self.controllen_user = 0
        self.done = 0             # bytes moved by earlier issues (MSG_WAITALL)
        self.polled = False       # RECVSEND_POLL_FIRST: the first wait happened
        self.in_progress = False  # CONNECT: a non-blocking connect is under way
        self.seen_aborted = False
        self.stype = None         # SO_TYPE of the socket, asked once
        self.zc = False
        self.notif = False        # zero-copy: a notification CQE follows (cleanup_zc)
        self.sent = False         # zero-copy: the send was made (notification flushed at issue)
        self.pick = None          # SEND: the provided buffers being sent (kbuf.Pick)
        self.sel_len = 0          # SEND with a provided buffer: sqe->len, a cap
        self.nr_iovs = 1          # bundle receive: the iovec array's size (grows)
        self.inq = 0              # bundle receive: msg_inq after the last receive
        self.waitall = None       # bundle receive, MSG_WAITALL: (pick, bytes, cflags) so far
        self.total_left = 0       # multishot RECV with sqe->optlen: bytes it may still receive


def _stream_like(st, fd):
    """Stream and seqpacket sockets: the ones MSG_WAITALL retries on
    (io_net_retry())."""
    if st.stype is None:
        st.stype = sockets.sockopt_int(fd, SO_TYPE)
    return st.stype in (SOCK_STREAM, SOCK_SEQPACKET)


def _socket_fd(req):
    """The Sentry's fd for req.file; ENOTSOCK if it is not a socket
    (sock_from_file() in every net op)."""
    f = req.file
    if not isinstance(f, HostFileDescription) or f.kind != "sock":
        raise OSError(errno.ENOTSOCK, "not a socket")
    return f.fd


def _read_addr(mem, addr, length):
    """move_addr_to_kernel(): a negative or oversized length is EINVAL."""
    if length < 0 or length > SOCKADDR_STORAGE:
        raise OSError(errno.EINVAL, "bad address length")
    if length == 0:
        return b""
    return mem.read(addr, length)


def _s32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


# --- AF_UNIX path names ------------------------------------------------------------
def _unix_path(addr):
    """The path in a sockaddr_un, or None (another family, unnamed, abstract)."""
    if len(addr) <= 2 or struct.unpack_from("<H", addr)[0] != AF_UNIX or addr[2] == 0:
        return None
    return addr


def _names_fs(kernel, task, addr, acting=None):
    """Context for a host call naming addr: the task's root and cwd when it
    is an AF_UNIX path (sentry/fscontext.py), nothing otherwise."""
    if addr and _unix_path(addr) is not None:
        return borrowed_fs(task, acting)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _sending_to(kernel, req, addr):
    """Around a send to addr: an AF_UNIX path is walked in the submitter's
    root and cwd, with its credentials (sending needs write permission on
    the socket's inode); other names need neither."""
    if not addr or _unix_path(addr) is None:
        yield
        return
    with as_submitter(req) as acting, borrowed_fs(req.task, acting):
        yield


def _state(req):
    st = req.cmd
    if st is None:
        st = req.cmd = NetState()
    return st


def _prep_msghdr(req, st, sending):
    """Copy struct msghdr (compat_msghdr on a compat ring) and its iovecs, as
    io_msg_copy_hdr()/__copy_msghdr() do at prep."""
    mem = req.task.mem
    compat = req.ring.compat
    if compat:
        raw = mem.read(req.addr, _MSGHDR32.size)
        name, namelen, iov, iovlen, control, controllen, _flags = _MSGHDR32.unpack(raw)
    else:
        raw = mem.read(req.addr, _MSGHDR.size)
        name, namelen, iov, iovlen, control, controllen, _flags = _MSGHDR.unpack(raw)
    if not name:
        namelen = 0
    if namelen < 0:
        raise OSError(errno.EINVAL, "negative msg_namelen")
    namelen = min(namelen, SOCKADDR_STORAGE)
    if iovlen > iovmod.UIO_MAXIOV:
        raise OSError(errno.EMSGSIZE, "too many iovecs")
    st.iovs = _import_iovecs(mem, iov, iovlen, compat)
    st.control_user = control
    st.controllen_user = controllen
    st.name_user = name
    st.namelen_user = namelen
    if sending:
        if name and namelen:
            st.name = mem.read(name, namelen)
        if controllen > 0x7FFFFFFF:
            raise OSError(errno.ENOBUFS, "control too long")   # ____sys_sendmsg
        if controllen:
            st.control = mem.read(control, controllen)


def _import_iovecs(mem, addr, count, compat):
    iovs = iovmod.read_iovecs(mem, addr, count, compat)
    for base, length in iovs:
        if length and not access_ok(base, length):   # import_iovec's access_ok
            raise OSError(errno.EFAULT, "iovec outside user space")
    return iovs


def _prep_sr_common(req, st, allowed):
    st.flags = req.ioprio
    if st.flags & ~allowed:
        raise OSError(errno.EINVAL, "unknown send/recv flags")


def prep_send(req):
    st = _state(req)
    if req.opcode == abi.OP_SENDMSG and (req.off or req.splice_fd_in):
        raise OSError(errno.EINVAL, "addr2/file_index on SENDMSG")
    _prep_sr_common(req, st, _SENDMSG_FLAGS)
    if st.flags & RECVSEND_BUNDLE and req.opcode == abi.OP_SENDMSG:
        raise OSError(errno.EINVAL, "bundle on SENDMSG")
    # A SEND bundle without IOSQE_BUFFER_SELECT is accepted, as Linux 6.18
    # does: it sends its buffer, then (see _send_rounds) once more what is
    # left of it -- nothing.
    st.sel_len = req.len
    _prep_send_payload(req, st, is_msg=req.opcode == abi.OP_SENDMSG)


def _import_ubuf(req):
    """import_ubuf() of sqe->addr/len.  Linux keeps a SEND's len in an int:
    a length of 2 GiB or more is negative there and refused with EINVAL
    (observed on Linux 6.18).  SEND_ZC's stays unsigned: import_ubuf caps
    it at MAX_RW_COUNT and the request goes on to issue (seed 140: ENOTSOCK
    on a file there, not EINVAL at prep, which would end the batch)."""
    if req.len >= 1 << 31 and req.opcode != abi.OP_SEND_ZC:
        raise OSError(errno.EINVAL, "negative length")
    if not access_ok(req.addr, req.len):
        raise OSError(errno.EFAULT, "buffer outside user space")
    return [(req.addr, min(req.len, MAX_RW_COUNT))]


def _check_select_len(req):
    """With a provided buffer sqe->len only caps it, but Linux keeps it in
    an int all the same: 2 GiB or more is EINVAL at prep (observed on Linux
    6.18 for SEND and RECV, before the socket is looked at)."""
    if req.len >= 1 << 31:
        raise OSError(errno.EINVAL, "negative length")


def _prep_send_setup(req, st):
    """io_send_setup(): sqe->addr2/addr_len is an optional destination."""
    if req.splice_fd_in >> 16 & 0xFFFF:
        raise OSError(errno.EINVAL, "__pad3 set")
    addr_len = req.splice_fd_in & 0xFFFF
    if req.off:
        st.name = _read_addr(req.task.mem, req.off, addr_len)
    if not req.flags & abi.IOSQE_BUFFER_SELECT:
        st.iovs = _import_ubuf(req)
    else:
        _check_select_len(req)          # the data is in provided buffers


def prep_send_zc(req):
    st = _state(req)
    st.zc = True
    if req.addr3:
        raise OSError(errno.EINVAL, "addr3 set")
    if req.flags & abi.IOSQE_CQE_SKIP_SUCCESS:
        raise OSError(errno.EINVAL, "CQE_SKIP_SUCCESS on a zero-copy send")
    # From here on Linux has allocated the notification (io_send_zc_prep):
    # whatever happens to the request, its cleanup posts the notification
    # CQE, and a failure of the request itself carries IORING_CQE_F_MORE
    # (io_sendrecv_fail) -- unless it is only cancelled as a link.
    st.notif = True
    # The notification is a request of its own in Linux (io_alloc_notif):
    # counted as allocated until it completes, which IOSQE_IO_DRAIN sees --
    # a zero-copy send held on the defer list never leaves it (submit.py).
    req.ring.live += 1
    req.cflags |= CQE_F_MORE
    # An unknown flag fails the request before IORING_SEND_ZC_REPORT_USAGE
    # is taken (io_send_zc_prep): its notification then reports 0.
    if req.ioprio & ~_ZC_FLAGS:
        raise OSError(errno.EINVAL, "unknown zero-copy flags")
    st.flags = req.ioprio
    if req.opcode == abi.OP_SENDMSG_ZC:
        if req.off or req.splice_fd_in:
            raise OSError(errno.EINVAL, "addr2/file_index on SENDMSG_ZC")
        if st.flags & RECVSEND_FIXED_BUF:
            raise OSError(errno.EINVAL, "fixed buffer on SENDMSG_ZC")
    # MSG_ZEROCOPY is what Linux adds; the copy made here needs no
    # SO_ZEROCOPY, so it is not passed to the host.
    _prep_send_payload(req, st, is_msg=req.opcode == abi.OP_SENDMSG_ZC)


def cleanup_zc(req):
    """The notification CQE of a zero-copy send (same user_data,
    IORING_CQE_F_NOTIF), posted as the request goes, after its own CQE --
    as Linux flushes the notif in io_send_zc_cleanup / at completion."""
    st = req.cmd
    if st is None or not st.notif:
        return
    st.notif = False
    ring = req.ring
    ring.live -= 1
    if ring.closed:
        return
    notif_res = 0
    if st.flags & SEND_ZC_REPORT_USAGE:
        # Linux reports "copied" unless some data went by zero-copy, which
        # includes a send that failed and sent nothing (io_notif_tw_complete:
        # zc_copied || !zc_used); the Sentry always copies.
        notif_res = _s32(NOTIF_USAGE_ZC_COPIED)
    if ring.submitting:
        # Within a batch (or a task-work pass after it) Linux's
        # notification is task work: it comes after the batch's CQEs.
        from pysentry.sentry.iouring import submit
        ring.batch_work.append((req, submit.Notif(notif_res, late=not st.sent)))
        return
    ring.post(req.user_data, notif_res, CQE_F_NOTIF)
    ring.notify()


def _prep_send_payload(req, st, is_msg):
    """The data and destination of any send: a msghdr, or addr/len plus an
    optional addr2 destination."""
    st.msg_flags = req.op_flags | MSG_NOSIGNAL
    if is_msg:
        _prep_msghdr(req, st, True)
    else:
        _prep_send_setup(req, st)


def prep_recv(req):
    st = _state(req)
    if req.off:
        raise OSError(errno.EINVAL, "addr2 on a receive")
    _prep_sr_common(req, st, _RECVMSG_FLAGS)
    st.msg_flags = req.op_flags
    # sqe->optlen (the file_index union): a multishot RECV's limit on the
    # bytes it receives in all (Linux 6.18, mshot_total_len); anywhere else
    # it must be 0 (io_recvmsg_prep).
    optlen = req.splice_fd_in & 0xFFFFFFFF
    if st.flags & RECV_MULTISHOT:
        # Multishot receives need provided buffers (see _recv_selected)
        # and cannot wait for a whole length.  A multishot RECV's sqe->len
        # caps each receive, as a single one's caps its buffer.
        if not req.flags & abi.IOSQE_BUFFER_SELECT:
            raise OSError(errno.EINVAL, "multishot without buffer select")
        if st.msg_flags & MSG_WAITALL:
            raise OSError(errno.EINVAL, "multishot with MSG_WAITALL")
        if req.opcode == abi.OP_RECV:
            st.total_left = optlen
        elif optlen:
            raise OSError(errno.EINVAL, "optlen on a multishot RECVMSG")
    elif optlen:
        raise OSError(errno.EINVAL, "optlen on a receive")
    if st.flags & RECVSEND_BUNDLE and req.opcode == abi.OP_RECVMSG:
        raise OSError(errno.EINVAL, "bundle on RECVMSG")
    if req.opcode == abi.OP_RECVMSG:
        st.umsg = req.addr
        _prep_msghdr(req, st, False)
        if req.flags & abi.IOSQE_BUFFER_SELECT:
            _prep_recvmsg_select(req, st)
    elif req.flags & abi.IOSQE_BUFFER_SELECT:
        # A cap on the buffer picked at issue (kbuf.py), or on a bundle.
        _check_select_len(req)
        req.kbuf_want = req.len
    else:
        # A bundle without provided buffers is a plain receive (Linux 6.18
        # accepts the flag and has no buffers to add).
        st.iovs = _import_ubuf(req)


# --- send ------------------------------------------------------------------------------
def _wait_first(st, events, req):
    """RECVSEND_POLL_FIRST: the first issue only arms the poll.

    In Linux the first issue returns -EAGAIN (io_send, io_recv...), which
    arms the poll only where one may be armed: a request that must not wait
    (MSG_DONTWAIT, REQ_F_NOWAIT) then fails with -EAGAIN (io_queue_async), and
    so does one an io-wq worker runs blocking, without REQ_F_FORCE_ASYNC
    (io_wq_submit_work polls only for it) -- the requests of a link left
    open at the end of a submission (Request.iowq == IOWQ_PUNT)."""
    if st.flags & RECVSEND_POLL_FIRST and not st.polled:
        if st.msg_flags & MSG_DONTWAIT or req.iowq == IOWQ_PUNT:
            raise OSError(errno.EAGAIN, "RECVSEND_POLL_FIRST where no poll is armed")
        st.polled = True
        req.poll_events = events
        return True
    return False


def issue_send(req, kernel):
    st = req.cmd
    fd = _socket_fd(req)
    if st.zc and not _supports_zc(fd):
        return -errno.EOPNOTSUPP
    if _wait_first(st, POLLOUT, req):
        return None
    if st.zc and st.flags & RECVSEND_FIXED_BUF and st.done == 0:
        table = req.ring.buffer_table
        if table is None:
            raise OSError(errno.EFAULT, "no registered buffers")
        st.iovs = [table.resolve(req.buf_index, req.addr, min(req.len, MAX_RW_COUNT), req)]
    if not st.zc and (req.flags & abi.IOSQE_BUFFER_SELECT or st.flags & RECVSEND_BUNDLE):
        return _send_rounds(req, kernel, fd)
    res = _send_data(req, kernel, fd)
    if st.zc and res is not None:
        # The send was made: Linux flushes the notification at issue
        # (io_send_zc), not when the request is freed (cleanup_zc).
        st.sent = True
    return res


def _send_data(req, kernel, fd):
    """Send st.iovs from st.done on: the bytes sent, or None to wait."""
    st = req.cmd
    flags = st.msg_flags & ~MSG_CMSG_COMPAT
    total = iovmod.total_len(st.iovs)
    if flags & MSG_WAITALL and req.expected is None:
        req.expected = total      # ret < min_ret fails the link (req_set_fail)
    stream = _stream_like(st, fd)
    retry = stream and flags & MSG_WAITALL
    held = []
    try:
        control = b""
        if st.control:
            control = net_cmsg.translate_control(kernel, req.task, st.control, req.ring.compat, held)
        while True:
            left = total - st.done
            take = min(left, _STREAM_CHUNK) if stream else min(left, _DGRAM_MAX)
            try:
                try:
                    data = iovmod.gather(req.task.mem, st.iovs, st.done, take)
                except OSError as e:
                    if e.errno != errno.EFAULT:
                        raise
                    # Memory the child cannot read: Linux sends the chunks
                    # (skbs) it copied before the fault.  The host socket
                    # decides on buffers that fault at the same place.
                    data = iovmod.gather_mirrored(req.task.mem, st.iovs, st.done, take)
                with _sending_to(kernel, req, st.name):
                    n = sockets.sendmsg(fd, data, st.name, control, flags | MSG_DONTWAIT)
            except BlockingIOError:
                if flags & MSG_DONTWAIT:
                    return st.done or -errno.EAGAIN
                req.poll_events = POLLOUT
                return None
            except OSError:
                if st.done:
                    return st.done
                raise
            # Control data goes with the first part only (io_sendmsg clears it
            # before a MSG_WAITALL retry).
            control = b""
            st.control = None
            st.done += n
            if not (retry and 0 < n and st.done < total):
                return st.done
    finally:
        for hostfd in held:
            os.close(hostfd)


_INT_MAX = 0x7FFFFFFF


def _send_rounds(req, kernel, fd):
    """SEND with IOSQE_BUFFER_SELECT and/or IORING_RECVSEND_BUNDLE (Linux's
    io_send() with io_send_select_buffer() and io_send_finish()).

    The data comes from provided buffers picked at issue: one buffer, or
    with a bundle as many ring buffers as sqe->len (0: no limit) covers --
    a buffer the length would cut is left for later unless it is the first;
    a legacy group gives one buffer.  A legacy buffer is sent whole, whatever
    sqe->len says (io_buffers_select() hands the legacy pick a length of
    0).  Sends consume their buffers when they pick them, so a send that
    must wait keeps them.  The CQE names the first buffer.

    A bundle goes on while the group has buffers left: each send that moved
    bytes posts its CQE with IORING_CQE_F_MORE and the next round picks
    again, with no length limit; the round that empties the group, sends
    nothing or fails is the last CQE (as is one that finds the CQ full)."""
    st = req.cmd
    select = bool(req.flags & abi.IOSQE_BUFFER_SELECT)
    bundle = bool(st.flags & RECVSEND_BUNDLE)
    ring = req.ring
    while True:
        if select and st.pick is None:
            max_len = min(st.sel_len, _INT_MAX) or _INT_MAX
            pick = kbuf.peek(req, req.buf_index, max_len, 1, bundle, 0)   # ENOENT, ENOBUFS
            kbuf.commit_pick(req, pick, pick.out_len, len(pick.iovs))
            st.pick = pick
            st.iovs = pick.iovs
            st.done = 0
            req.expected = None
            # Named by the CQE even if the send fails or is cancelled.
            req.cflags = pick.cflags()
        res = _send_data(req, kernel, fd)
        if res is None:
            return None
        pick, st.pick = st.pick, None
        if not bundle or res <= 0 or (pick is not None and pick.empty):
            return res
        cflags = pick.cflags() if pick is not None else 0
        if not ring.post_more(req.user_data, res, cflags | CQE_F_MORE):
            return res
        ring.notify()
        req.cflags = 0
        st.sel_len = 0
        st.done = 0
        req.expected = None
        if not select:
            st.iovs = []        # what is left of the consumed buffer: nothing


def _supports_zc(fd):
    """SOCK_SUPPORT_ZC: set by TCP and UDP sockets only."""
    if sockets.sockopt_int(fd, SO_DOMAIN) not in (AF_INET, AF_INET6):
        return False
    return sockets.sockopt_int(fd, SO_PROTOCOL) in (IPPROTO_TCP, IPPROTO_UDP)


def issue_send_zc(req, kernel):
    """A zero-copy send done by copying: the result CQE carries
    IORING_CQE_F_MORE (set at prep) and the notification CQE follows it when
    the request is released (cleanup_zc) -- even when the send failed."""
    return issue_send(req, kernel)


# --- receive ---------------------------------------------------------------------------
def issue_recv(req, kernel):
    if req.cmd.flags & RECV_MULTISHOT and req.iowq:
        # io_wq_submit_work(): a multishot request given to io-wq (IOSQE_ASYNC,
        # a drain) is not issued there.  A file that cannot be polled fails
        # it with -EBADFD; on others (sockets and pipes have FMODE_NOWAIT)
        # it arms its poll, so it is first issued -- and picks a buffer --
        # once data is there (seed 3713).
        if not kbuf.can_poll(req.file):
            return -errno.EBADFD
        req.iowq = 0
        # From now on it is issued by its poll (REQ_F_POLLED, so
        # RECVSEND_POLL_FIRST is satisfied, and IO_URING_F_MULTISHOT, so a
        # receive that finds nothing waits again, even with MSG_DONTWAIT).
        req.cmd.polled = True
        req.cmd.msg_flags &= ~MSG_DONTWAIT
        if not req.file.ready(POLLIN):
            req.poll_events = POLLIN
            return None
    if req.flags & abi.IOSQE_BUFFER_SELECT:
        if req.cmd.flags & RECVSEND_BUNDLE:
            return _recv_bundle(req, kernel)
        return _recv_selected(req, kernel)
    return _recv_iovs(req, kernel)


def _recv_iovs(req, kernel):
    st = req.cmd
    fd = _socket_fd(req)
    if _wait_first(st, POLLIN, req):
        return None
    recvmsg = req.opcode == abi.OP_RECVMSG
    flags = st.msg_flags & ~MSG_CMSG_COMPAT
    total = iovmod.total_len(st.iovs)
    # MSG_WAITALL asks for everything, except a RECVMSG with control data,
    # which Linux does not retry partially.
    waitall = bool(flags & MSG_WAITALL) and not (recvmsg and st.controllen_user)
    if waitall and req.expected is None:
        req.expected = total
    stream = _stream_like(st, fd)
    retry = waitall and stream
    compat = req.ring.compat
    controllen = 0
    if recvmsg and st.controllen_user:
        controllen = min(st.controllen_user, _CONTROL_MAX)
        if compat:
            controllen = controllen * 2 + 64   # native headers are larger
    while True:
        left = total - st.done
        size = min(left, _STREAM_CHUNK) if stream else min(left, _DGRAM_MAX)
        try:
            n, name, control, mflags = _recv_into(
                req, st, fd, st.iovs, st.done, size, recvmsg and bool(st.name_user),
                controllen, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
        except BlockingIOError:
            if flags & MSG_DONTWAIT:
                return st.done or -errno.EAGAIN
            req.poll_events = POLLIN
            return None
        except OSError:
            if st.done:
                return st.done
            raise
        if recvmsg:
            rights = _write_back(req, st, name, control, mflags, flags, compat)
            if rights is not None:
                # Received fds must enter the child's fd table: finish in the
                # submitting thread (task work), as Linux's scm_detach_fds()
                # runs in the receiver.  (No MSG_WAITALL retry with control.)
                st.done += n
                done = st.done
                return taskwork.queue(kernel, req, lambda k, t, r: net_cmsg.install_rights(
                    k, t, r, rights, flags, compat, done))
        if waitall and mflags & (MSG_TRUNC | MSG_CTRUNC):
            req.expected = _FAIL      # a truncated MSG_WAITALL receive fails the link
        st.done += n
        if retry and 0 < n < left:
            continue
        if st.stype == SOCK_STREAM and sockets.still_queued(fd):
            req.cflags |= CQE_F_SOCK_NONEMPTY
        return st.done


# A receive's buffer is probed (a byte per page, one process_vm_readv) up to
# this many bytes whatever the socket holds; past it, only as far as the
# bytes queued reach (SIOCINQ), so a large buffer costs no more to check
# than the data that can land in it.
_PROBE_ALWAYS = 64 << 10


def _recv_into(req, st, fd, iovs, start, size, want_name, controllen, flags):
    """recvmsg(2) of up to `size` bytes into the child's iovecs from byte
    `start` on: (n, name, control, msg_flags), the data in place.  Raises
    as recvmsg does (BlockingIOError: nothing there)."""
    size, segs = _faulting_segments(req, st, fd, iovs, start, size)
    if segs is not None:
        return _recv_mirrored(req, fd, segs, size, want_name, controllen, flags)
    n, data, name, control, mflags = sockets.recvmsg(fd, size, want_name, controllen, flags)
    if data:
        iovmod.scatter(req.task.mem, iovs, start, data)
    return n, name, control, mflags


def _faulting_segments(req, st, fd, iovs, start, size):
    """Before a receive of `size` bytes into `iovs` (from byte `start` on):
    can the child's buffer take all it may bring?  Returns (size, None) if
    so; else (size, the segments to receive into through mirrors).

    Linux's stream protocols copy skb by skb to the buffer and stop at the
    first one they cannot copy whole: the receive returns the bytes before
    it, or -EFAULT, and that skb stays queued (a datagram socket drops it).
    The Sentry must not take from the host socket what Linux would leave
    there, so a buffer that faults is given to the host call as a mirror
    that faults at the same place (_recv_mirrored).

    A buffer larger than _PROBE_ALWAYS is probed only as far as the bytes
    queued (a datagram socket's next datagram, a seqpacket's queue, never
    less than the head record).  A byte stream's receive is then cut to
    what was probed: what arrives after the count was taken is left for the
    next receive, as if it had come a moment later."""
    probe = size
    if size > _PROBE_ALWAYS:
        queued = sockets.queued(fd)
        if queued is not None:
            probe = min(size, max(queued, _PROBE_ALWAYS))
            if _stream_like(st, fd) and st.stype == SOCK_STREAM:
                size = probe
    segs = [seg for seg in iovmod.window(iovs, start, probe) if seg[1]]
    if _all_reachable(req.task.mem, segs, probe):
        return size, None
    return size, [seg for seg in iovmod.window(iovs, start, size) if seg[1]]


_PROBE_SINK = ffi.new("char[]", iovmod.UIO_MAXIOV)


def _all_reachable(mem, segs, size):
    """iovmod.all_mapped() for a receive's segments: a byte of each page
    read in one process_vm_readv, its iovec array packed in one go rather
    than filled field by field -- the check every receive now pays."""
    words = []
    for base, length in segs:
        words += (base, 1)
        page = (base | 4095) + 1
        end = base + length
        while page < end:
            words += (page, 1)
            page += 4096
    n = len(words) >> 1
    if n > iovmod.UIO_MAXIOV:
        return iovmod.all_mapped(mem, segs, size)
    if not n:
        return True
    riov = ffi.from_buffer("struct iovec[]", struct.pack("<%dQ" % len(words), *words))
    liov = ffi.new("struct iovec *", (_PROBE_SINK, n))
    return lib.process_vm_readv(mem.pid, liov, 1, riov, n, 0) == n


def _recv_mirrored(req, fd, segs, size, want_name, controllen, flags):
    """recvmsg(2) on the host into mirrors of the child's segments that
    fault where they do (ChildMemory.mirror), so the host kernel takes what
    Linux would take; then what it copied goes to the child -- on -EFAULT
    too: the bytes a failed skb copy put before the fault stay in Linux's
    buffer.  Returns (n, name, control, msg_flags)."""
    mem = req.task.mem
    reachable = []
    bufs = iovmod.gather_mirrored(mem, segs, 0, size, reachable)
    try:
        n, name, control, mflags = sockets.recvmsg_into(fd, bufs, want_name, controllen, flags)
    except OSError as e:
        if e.errno == errno.EFAULT:
            iovmod.scatter_from(mem, segs, bufs, reachable[0])
        raise
    # The mirror's readable part beyond n is the child's own bytes (or a
    # failed skb copy's): copied back as they are.
    iovmod.scatter_from(mem, segs, bufs, max(n, reachable[0]))
    return n, name, control, mflags


def _write_back(req, st, name, control, mflags, flags, compat):
    """What ____sys_recvmsg() stores in the child's msghdr: the source
    address (at most msg_namelen bytes) and its full length, msg_flags, and
    the control bytes used as msg_controllen."""
    mem = req.task.mem
    if st.name_user and name is not None:
        if st.namelen_user:
            mem.write(st.name_user, name[:st.namelen_user])
        mem.write(st.umsg + (4 if compat else 8), struct.pack("<i", len(name)))
    cmsgs = net_cmsg.parse_cmsgs(control, False) if control else []
    if any(level == SOL_SOCKET and ctype == SCM_RIGHTS for level, ctype, _ in cmsgs):
        return cmsgs, mflags          # the caller finishes in the child (_install_rights)
    net_cmsg.write_control(req, st, cmsgs, mflags, flags, compat)
    return None


def prep_connect(req):
    """io_connect_prep()/io_bind_prep(): the address is copied now."""
    if req.len or req.buf_index or req.op_flags or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fields")
    st = _state(req)
    st.name = _read_addr(req.task.mem, req.addr, _s32(req.off))


def issue_connect(req, kernel):
    """connect(2) without blocking the Sentry.

    O_NONBLOCK is set on the shared description just around the call and
    then restored.  While it is set, another thread of the child doing I/O
    on this socket would see it non-blocking (a narrow race Linux does not
    have: it passes O_NONBLOCK per call to __sys_connect_file)."""
    st = req.cmd
    fd = _socket_fd(req)
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        if not fl & os.O_NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        try:
            with as_submitter(req) as acting, _names_fs(kernel, req.task, st.name, acting):
                sockets.connect(fd, st.name)
            ret = 0
        except OSError as e:
            ret = -e.errno
    finally:
        if not fl & os.O_NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, fl)
    if ret in (-errno.EAGAIN, -errno.EINPROGRESS, -errno.ECONNABORTED):
        if ret == -errno.EINPROGRESS:
            st.in_progress = True
        elif ret == -errno.ECONNABORTED:
            if st.seen_aborted:
                return ret
            st.seen_aborted = True
        req.poll_events = POLLOUT   # wait for the handshake, then connect again
        return None
    if st.in_progress and ret in (-errno.EBADFD, -errno.EISCONN):
        # The earlier attempt finished: its outcome is the socket error.
        ret = -sockets.sockopt_int(fd, SO_ERROR)
    return ret


def issue_bind(req, kernel):
    st = req.cmd
    fd = _socket_fd(req)
    with as_submitter(req) as acting, _names_fs(kernel, req.task, st.name, acting):
        sockets.bind(fd, st.name)
    return 0


def prep_listen(req):
    if req.addr or req.buf_index or req.op_flags or req.splice_fd_in or req.off:
        raise OSError(errno.EINVAL, "reserved fields")


def issue_listen(req, kernel):
    fd = _socket_fd(req)
    sockets.listen(fd, _s32(req.len))
    return 0


def prep_shutdown(req):
    if req.off or req.addr or req.op_flags or req.buf_index or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved fields")


def issue_shutdown(req, kernel):
    fd = _socket_fd(req)
    sockets.shutdown(fd, _s32(req.len))
    return 0


# --- provided buffers (IOSQE_BUFFER_SELECT on RECV and RECVMSG; kbuf.py) ---------
def _recv_selected(req, kernel):
    """RECV or RECVMSG into a buffer of group sqe->buf_group, picked when data may be
    there.  As Linux's io_recv(), a receive that brings nothing -- it must
    wait, the peer closed, or it failed -- gives the buffer back, so the CQE
    names a buffer only when bytes landed in it.

    IORING_RECV_MULTISHOT: each receive posts a CQE with IORING_CQE_F_MORE
    and its own buffer, and the request goes on (waiting again when the
    socket is drained) until end of file, an error, no buffer left
    (-ENOBUFS), or a full CQ, which ends it with a last CQE without F_MORE
    rather than overflowing (io_req_post_cqe() failing in io_recv_finish())."""
    st = req.cmd
    _socket_fd(req)                       # ENOTSOCK before a buffer is taken
    while True:
        if _wait_first(st, POLLIN, req):
            return None
        picked = kbuf.held(req)           # MSG_WAITALL: a partly filled buffer
        if picked is None:
            picked = kbuf.select(req, req.kbuf_want)     # ENOBUFS
            st.iovs = [picked]
            st.done = 0
            req.expected = None
        try:
            if req.opcode == abi.OP_RECVMSG and st.flags & RECV_MULTISHOT:
                res = _recvmsg_into_buffer(req, st, picked)
            else:
                res = _recv_iovs(req, kernel)
        except OSError:
            kbuf.give_back(req)
            raise
        if res is None and st.done:
            return None                   # MSG_WAITALL goes on in the same buffer
        if res is None or res <= 0:
            kbuf.give_back(req)
            return res
        kbuf.finish(req, res)
        if not st.flags & RECV_MULTISHOT:
            return res
        if st.total_left:
            # sqe->optlen: the receive that reaches the limit ends the
            # multishot with its CQE (io_recv_finish(), IORING_RECV_MSHOT_LIM).
            # It is not cut to the limit: only a bundle's pick is.
            st.total_left -= min(res, st.total_left)
            if not st.total_left:
                return res
        ring = req.ring
        if not ring.post_more(req.user_data, res, req.cflags | CQE_F_MORE):
            return res                    # no room for another CQE: the last one
        ring.notify()
        req.cflags = 0


def _prep_recvmsg_select(req, st):
    """RECVMSG with a provided buffer (io_msg_copy_hdr()): msg_iov holds at
    most one iovec, whose length caps the buffer (none: the whole buffer)."""
    if len(st.iovs) > 1:
        raise OSError(errno.EINVAL, "buffer select takes at most one iovec")
    req.kbuf_want = st.iovs[0][1] if st.iovs else 0
    if st.flags & RECV_MULTISHOT:
        # The buffer reserves msg_namelen bytes for the address even when
        # msg_name is NULL (io_recvmsg_mshot_prep() takes the raw field).
        off = 4 if req.ring.compat else 8
        (namelen,) = struct.unpack("<i", req.task.mem.read(req.addr + off, 4))
        if namelen < 0:
            raise OSError(errno.EOVERFLOW, "negative msg_namelen")
        st.namelen_user = namelen


_RECVMSG_OUT = struct.Struct("<IIII")   # struct io_uring_recvmsg_out


def _recvmsg_into_buffer(req, st, picked):
    """One multishot RECVMSG receive (io_recvmsg_multishot()): the buffer
    gets a struct io_uring_recvmsg_out, then msg_namelen bytes for the source
    address, msg_controllen bytes for control messages, then the payload.
    The result counts all of it; end of file still fills the header and
    ends the request (the caller sees res > 0 but nothing received)."""
    addr, length = picked
    namelen, controllen = st.namelen_user, st.controllen_user
    hdr = _RECVMSG_OUT.size + namelen + controllen
    if length < hdr:
        raise OSError(errno.EFAULT, "buffer smaller than the recvmsg header")
    fd = _socket_fd(req)
    compat = req.ring.compat
    flags = st.msg_flags & ~MSG_CMSG_COMPAT
    space = length - hdr
    ctl_room = min(controllen * 2 + 64 if compat else controllen, _CONTROL_MAX)
    try:
        # The payload goes straight to its place after the header (through
        # a mirror if that faults: Linux's sock_recvmsg() fails there and
        # leaves the skb queued).
        n, name, control, mflags = _recv_into(req, st, fd, [(addr + hdr, space)], 0, space,
                                              namelen > 0, ctl_room,
                                              flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
    except BlockingIOError:
        if flags & MSG_DONTWAIT:
            return -errno.EAGAIN
        return None                   # wait for POLLIN (the op's direction), then retry
    mem = req.task.mem
    cmsgs = []
    for level, ctype, cdata in net_cmsg.parse_cmsgs(control, False) if control else ():
        if level == SOL_SOCKET and ctype == SCM_RIGHTS:
            # Known difference: a multishot RECVMSG drops received fds
            # (MSG_CTRUNC); the single-shot one installs them (net_cmsg.install_rights).
            for hostfd in net_cmsg.rights_fds(cdata):
                os.close(hostfd)
            mflags |= MSG_CTRUNC
            continue
        cmsgs.append((level, ctype, cdata))
    ctl, truncated = net_cmsg.build_cmsgs(cmsgs, compat, controllen)
    if truncated:
        mflags |= MSG_CTRUNC
    if ctl:
        mem.write(addr + _RECVMSG_OUT.size + namelen, ctl)
    out_flags = (mflags & ~(MSG_CMSG_CLOEXEC | MSG_CMSG_COMPAT)) | (flags & MSG_CMSG_CLOEXEC)
    name = name or b""
    mem.write(addr, _RECVMSG_OUT.pack(len(name), len(ctl), n, out_flags) + name[:namelen])
    if n == 0:
        st.flags &= ~RECV_MULTISHOT       # end of file: this CQE is the last
    return hdr + min(n, space)


# --- bundle receives (IORING_RECVSEND_BUNDLE on RECV) ------------------------------
def _recv_bundle(req, kernel):
    """RECV into several buffers of a group at once (Linux's io_recv() with
    io_recv_buf_select() and io_recv_finish()).  Each CQE reports the bytes
    received into consecutive buffers and names the first.

    A receive picks buffers for sqe->len bytes if given; if not, for the
    msg_inq the last receive of this request left (when above 1), else as
    many as its iovec array holds -- one at first, more once a pick made it
    grow.  When a receive filled all it picked, the group has buffers left,
    no buffer was cut short and msg_inq says more than one byte waits, it
    receives once more (with buffers for msg_inq bytes) and reports both
    in one CQE.  A legacy group gives one buffer per pick.  Multishot: a
    CQE with IORING_CQE_F_MORE per round, until end of file, an error, no
    buffers (-ENOBUFS), a round that emptied the group, or a full CQ.

    Linux's first pick also depends on which cached message header the
    request drew (one holding a larger iovec array takes more buffers at
    once); the Sentry behaves as with a fresh one (docs/io_uring.md)."""
    st = req.cmd
    fd = _socket_fd(req)
    flags = st.msg_flags & ~MSG_CMSG_COMPAT
    retry_short = _stream_like(st, fd) and flags & MSG_WAITALL
    stream = st.stype == SOCK_STREAM
    ring = req.ring
    while True:
        if _wait_first(st, POLLIN, req):
            return None
        if st.waitall is not None:
            return _recv_bundle_rest(req, st, fd, flags, stream)
        total, cflags, empty, limited = 0, 0, False, False
        max_len = req.kbuf_want or (st.inq if st.inq > 1 else 0)
        if st.total_left:
            # sqe->optlen: the buffers picked stay within what the
            # multishot may still receive (io_recv_buf_select()).
            max_len = min(max_len, st.total_left) if max_len else st.total_left
        retried = False
        while True:
            try:
                pick = kbuf.peek(req, req.buf_index, max_len, st.nr_iovs, True, max_len)
            except OSError:
                if total:
                    break             # the bytes of the first receive are reported
                raise                 # ENOENT, ENOBUFS
            if pick.nr_alloc:
                st.nr_iovs = pick.nr_alloc
            empty = empty or pick.empty
            st.inq = -1
            try:
                n, _name, _control, _mflags = _recv_into(
                    req, st, fd, pick.iovs, 0, pick.out_len, False, 0,
                    flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                kbuf.give_back_pick(req, pick)
                if total:
                    break
                if flags & MSG_DONTWAIT:
                    return -errno.EAGAIN
                req.poll_events = POLLIN
                return None
            except OSError:
                kbuf.give_back_pick(req, pick)
                if total:
                    break
                raise
            st.inq = sockets.inq_hint(fd) if stream else -1
            if n == 0:
                kbuf.give_back_pick(req, pick)        # end of file: no buffer used
                break
            if retry_short and not total and n < pick.out_len:
                # MSG_WAITALL on a stream (io_net_retry()): the buffers
                # picked are consumed now and the request waits to fill
                # them (_recv_bundle_rest).
                picked = kbuf.commit_pick(req, pick, pick.out_len, len(pick.iovs))
                st.waitall = (pick, n, picked)
                req.cflags = picked
                req.poll_events = POLLIN
                return None
            picked = kbuf.commit_pick(req, pick, n, kbuf.nbufs_used(pick.iovs, n))
            if not total:
                cflags = picked
            total += n
            if st.total_left:
                # io_recv_finish() counts the request's result so far
                # against the limit after each receive (after a retry, the
                # first receive's bytes once more); reaching it ends the
                # multishot and allows no retry (IORING_RECV_MSHOT_DONE).
                st.total_left -= min(total, st.total_left)
                limited = not st.total_left
            if (limited or retried or pick.empty or pick.partial or st.inq <= 1
                    or n < pick.out_len):
                break
            retried = True
            max_len = min(st.inq, st.total_left) if st.total_left else st.inq
        if st.inq > 0:
            cflags |= CQE_F_SOCK_NONEMPTY
        if not st.flags & RECV_MULTISHOT or total <= 0 or empty or limited:
            req.cflags = cflags
            return total
        if not ring.post_more(req.user_data, total, cflags | CQE_F_MORE):
            req.cflags = cflags
            return total                  # no room for another CQE: the last one
        ring.notify()
        req.cflags = 0


def _recv_bundle_rest(req, st, fd, flags, stream):
    """A MSG_WAITALL bundle receive goes on in the buffers it picked, until
    they are full, the peer closes or an error comes: the bytes so far are
    then its result."""
    pick, done, cflags = st.waitall
    while done < pick.out_len:
        st.inq = -1
        try:
            n, _name, _control, _mflags = _recv_into(
                req, st, fd, pick.iovs, done, pick.out_len - done, False, 0,
                flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
        except BlockingIOError:
            st.waitall = (pick, done, cflags)
            req.poll_events = POLLIN
            return None
        except OSError:
            break
        st.inq = sockets.inq_hint(fd) if stream else -1
        if n == 0:
            break
        done += n
    st.waitall = None
    if st.inq > 0:
        cflags |= CQE_F_SOCK_NONEMPTY
    req.cflags = cflags
    return done
