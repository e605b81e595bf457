"""The opcode table: for each IORING_OP_*, how it is prepared and issued.

Modelled on Linux's io_uring/opdef.c: one entry per opcode; an opcode without
an entry is not implemented, completes with -EINVAL (as an unknown opcode does
in Linux) and is reported unsupported by IORING_REGISTER_PROBE.  The probe is
generated from this table, so it can never claim an op that is not here.
"""
import select

from pysentry.sentry.iouring import (abi, advise, cancel, epoll, filetable, msg_ring, nop, openclose,
                                     poll, rw, rw_fixed, socket_fd, splice, sync, timeout, truncate)
from pysentry.sentry.iouring import kbuf
from pysentry.sentry.iouring import net
from pysentry.sentry.iouring import fs, futex, statx, uring_cmd, waitid, xattr


POLLIN, POLLOUT = select.POLLIN, select.POLLOUT


class OpDef:
    """Everything the rest of the subsystem needs to know about one opcode.

    name              IORING_OP_<name>
    prep(req)         copies and checks the SQE at submission (io_*_prep)
    issue(req, kernel) runs it: a result, None (would block: wait for `poll`
                      on its file, then issue again), or INFLIGHT (it
                      completes itself)
    needs_file        sqe->fd names the file it works on (looked up at issue)
    poll              what a request that would block waits for by default
                      (POLLIN/POLLOUT, Linux's pollin/pollout); an op may
                      choose otherwise by setting req.poll_events
    buffer_select     accepts IOSQE_BUFFER_SELECT
    short_fails_link  a transfer shorter than asked breaks its link
    ioprio            accepts a non-zero sqe->ioprio
    iopoll            allowed on an IORING_SETUP_IOPOLL ring
    waits             may wait indefinitely without touching the program's
                      memory (polls, timeouts): it survives its task's exit
    cleanup(req)      releases the op's own state with the request, or None
    """

    __slots__ = ("name", "prep", "issue", "needs_file", "poll", "buffer_select",
                 "short_fails_link", "ioprio", "iopoll", "waits", "cleanup")

    def __init__(self, name, prep, issue, needs_file=False, poll=0, buffer_select=False,
                 short_fails_link=False, ioprio=None, iopoll=False, waits=False, cleanup=None):
        self.name = name
        self.prep = prep
        self.issue = issue
        self.needs_file = needs_file
        self.poll = poll
        self.buffer_select = buffer_select
        self.short_fails_link = short_fails_link
        # Only ops that take an I/O priority accept a non-zero sqe->ioprio.
        self.ioprio = short_fails_link if ioprio is None else ioprio
        self.iopoll = iopoll
        self.waits = waits
        self.cleanup = cleanup


OPS = {
    abi.OP_NOP: OpDef("NOP", nop.prep, nop.issue, iopoll=True),
    abi.OP_READV: OpDef("READV", rw.prep_vector, rw.issue_read, needs_file=True, poll=POLLIN,
                        buffer_select=True, short_fails_link=True, iopoll=True),
    abi.OP_WRITEV: OpDef("WRITEV", rw.prep_vector, rw.issue_write, needs_file=True,
                         poll=POLLOUT, short_fails_link=True, iopoll=True),
    abi.OP_FSYNC: OpDef("FSYNC", sync.prep, sync.issue, needs_file=True),
    abi.OP_POLL_ADD: OpDef("POLL_ADD", poll.prep_add, poll.issue_add, needs_file=True,
                           waits=True),
    abi.OP_POLL_REMOVE: OpDef("POLL_REMOVE", poll.prep_remove, poll.issue_remove),
    abi.OP_TIMEOUT: OpDef("TIMEOUT", timeout.prep_timeout, timeout.issue_timeout, waits=True),
    abi.OP_TIMEOUT_REMOVE: OpDef("TIMEOUT_REMOVE", timeout.prep_remove, timeout.issue_remove),
    abi.OP_ASYNC_CANCEL: OpDef("ASYNC_CANCEL", cancel.prep, cancel.issue),
    abi.OP_LINK_TIMEOUT: OpDef("LINK_TIMEOUT", timeout.prep_link_timeout,
                               timeout.issue_link_timeout, waits=True),
    abi.OP_READ_FIXED: OpDef("READ_FIXED", rw.prep_fixed, rw.issue_read_fixed, needs_file=True,
                             poll=POLLIN, short_fails_link=True, iopoll=True),
    abi.OP_WRITE_FIXED: OpDef("WRITE_FIXED", rw.prep_fixed, rw.issue_write_fixed,
                              needs_file=True, poll=POLLOUT, short_fails_link=True, iopoll=True),
    abi.OP_READ: OpDef("READ", rw.prep_single, rw.issue_read, needs_file=True, poll=POLLIN,
                       buffer_select=True, short_fails_link=True, iopoll=True),
    abi.OP_WRITE: OpDef("WRITE", rw.prep_single, rw.issue_write, needs_file=True,
                        poll=POLLOUT, short_fails_link=True, iopoll=True),
    abi.OP_OPENAT: OpDef("OPENAT", openclose.prep_openat, openclose.issue_open),
    abi.OP_CLOSE: OpDef("CLOSE", openclose.prep_close, openclose.issue_close),
    abi.OP_FILES_UPDATE: OpDef("FILES_UPDATE", filetable.prep_files_update,
                               filetable.issue_files_update, iopoll=True),
    abi.OP_OPENAT2: OpDef("OPENAT2", openclose.prep_openat2, openclose.issue_open),
    abi.OP_MSG_RING: OpDef("MSG_RING", msg_ring.prep, msg_ring.issue, needs_file=True,
                           iopoll=True),
    abi.OP_ACCEPT: OpDef("ACCEPT", socket_fd.prep_accept, socket_fd.issue_accept,
                         needs_file=True, poll=POLLIN, ioprio=True),
    abi.OP_SOCKET: OpDef("SOCKET", socket_fd.prep_socket, socket_fd.issue_socket),
    abi.OP_EPOLL_CTL: OpDef("EPOLL_CTL", epoll.prep, epoll.issue),
    abi.OP_EPOLL_WAIT: OpDef("EPOLL_WAIT", epoll.prep_wait, epoll.issue_wait, needs_file=True,
                             poll=POLLIN),
    abi.OP_MADVISE: OpDef("MADVISE", advise.prep_madvise, advise.issue_madvise),
    abi.OP_FADVISE: OpDef("FADVISE", advise.prep_fadvise, advise.issue_fadvise, needs_file=True),
    abi.OP_SYNC_FILE_RANGE: OpDef("SYNC_FILE_RANGE", sync.prep_sync_file_range,
                                  sync.issue_sync_file_range, needs_file=True),
    abi.OP_FALLOCATE: OpDef("FALLOCATE", sync.prep_fallocate, sync.issue_fallocate,
                            needs_file=True),
    abi.OP_FTRUNCATE: OpDef("FTRUNCATE", truncate.prep, truncate.issue, needs_file=True),
    # A splice or tee moving fewer than len bytes fails its link.
    # (It chooses the side it waits on itself: the input or the output.)
    abi.OP_SPLICE: OpDef("SPLICE", splice.prep_splice, splice.issue_splice, needs_file=True,
                         short_fails_link=True, ioprio=False, cleanup=splice.cleanup),
    abi.OP_TEE: OpDef("TEE", splice.prep_tee, splice.issue_tee, needs_file=True,
                      short_fails_link=True, ioprio=False, cleanup=splice.cleanup),
    abi.OP_PROVIDE_BUFFERS: OpDef("PROVIDE_BUFFERS", kbuf.prep_provide, kbuf.issue_provide,
                                  iopoll=True),
    abi.OP_REMOVE_BUFFERS: OpDef("REMOVE_BUFFERS", kbuf.prep_remove, kbuf.issue_remove,
                                 iopoll=True),
    abi.OP_STATX: OpDef("STATX", statx.prep, statx.issue),
    abi.OP_RENAMEAT: OpDef("RENAMEAT", fs.prep_renameat, fs.issue_renameat),
    abi.OP_UNLINKAT: OpDef("UNLINKAT", fs.prep_unlinkat, fs.issue_unlinkat),
    abi.OP_MKDIRAT: OpDef("MKDIRAT", fs.prep_mkdirat, fs.issue_mkdirat),
    abi.OP_SYMLINKAT: OpDef("SYMLINKAT", fs.prep_symlinkat, fs.issue_symlinkat),
    abi.OP_LINKAT: OpDef("LINKAT", fs.prep_linkat, fs.issue_linkat),
    abi.OP_FSETXATTR: OpDef("FSETXATTR", xattr.prep_fsetxattr, xattr.issue_fsetxattr,
                            needs_file=True),
    abi.OP_SETXATTR: OpDef("SETXATTR", xattr.prep_setxattr, xattr.issue_setxattr),
    abi.OP_FGETXATTR: OpDef("FGETXATTR", xattr.prep_fgetxattr, xattr.issue_fgetxattr,
                            needs_file=True),
    abi.OP_GETXATTR: OpDef("GETXATTR", xattr.prep_getxattr, xattr.issue_getxattr),
    # Net ops: sqe->ioprio carries the send/recv flags.  Linux fails a link
    # on a short transfer only with MSG_WAITALL (or a truncated one):
    # net.py sets req.expected just then.
    abi.OP_SENDMSG: OpDef("SENDMSG", net.prep_send, net.issue_send, needs_file=True,
                          poll=POLLOUT, short_fails_link=True, ioprio=True),
    abi.OP_RECVMSG: OpDef("RECVMSG", net.prep_recv, net.issue_recv, needs_file=True,
                          poll=POLLIN, buffer_select=True, short_fails_link=True, ioprio=True),
    # SEND takes its data from a provided buffer with IOSQE_BUFFER_SELECT
    # (SENDMSG and the zero-copy sends do not, as in Linux's opdef.c).
    abi.OP_SEND: OpDef("SEND", net.prep_send, net.issue_send, needs_file=True, poll=POLLOUT,
                       buffer_select=True, short_fails_link=True, ioprio=True),
    abi.OP_RECV: OpDef("RECV", net.prep_recv, net.issue_recv, needs_file=True, poll=POLLIN,
                       buffer_select=True, short_fails_link=True, ioprio=True),
    abi.OP_SEND_ZC: OpDef("SEND_ZC", net.prep_send_zc, net.issue_send_zc, needs_file=True,
                          poll=POLLOUT, short_fails_link=True, ioprio=True,
                          cleanup=net.cleanup_zc),
    abi.OP_SENDMSG_ZC: OpDef("SENDMSG_ZC", net.prep_send_zc, net.issue_send_zc,
                             needs_file=True, poll=POLLOUT, short_fails_link=True, ioprio=True,
                             cleanup=net.cleanup_zc),
    abi.OP_CONNECT: OpDef("CONNECT", net.prep_connect, net.issue_connect, needs_file=True,
                          poll=POLLOUT),
    abi.OP_URING_CMD: OpDef("URING_CMD", uring_cmd.prep, uring_cmd.issue, needs_file=True,
                            buffer_select=True, iopoll=True),
    abi.OP_RECV_ZC: OpDef("RECV_ZC", uring_cmd.prep_recv_zc, uring_cmd.issue_recv_zc,
                          needs_file=True),
    abi.OP_SHUTDOWN: OpDef("SHUTDOWN", net.prep_shutdown, net.issue_shutdown, needs_file=True),
    abi.OP_BIND: OpDef("BIND", net.prep_connect, net.issue_bind, needs_file=True),
    abi.OP_LISTEN: OpDef("LISTEN", net.prep_listen, net.issue_listen, needs_file=True),
    # READ_MULTISHOT's io_issue_def has no .ioprio: a non-zero sqe->ioprio
    # fails io_init_req with -EINVAL (Linux 6.18).
    abi.OP_READ_MULTISHOT: OpDef("READ_MULTISHOT", rw.prep_read_multishot,
                                 rw.issue_read_multishot, needs_file=True, poll=POLLIN,
                                 buffer_select=True, ioprio=False),
    # Vectored I/O in registered buffers (rw_fixed.py); no buffer selection.
    abi.OP_READV_FIXED: OpDef("READV_FIXED", rw_fixed.prep, rw_fixed.issue_read, needs_file=True,
                              poll=POLLIN, short_fails_link=True, iopoll=True),
    abi.OP_WRITEV_FIXED: OpDef("WRITEV_FIXED", rw_fixed.prep, rw_fixed.issue_write,
                               needs_file=True, poll=POLLOUT, short_fails_link=True, iopoll=True),
    abi.OP_PIPE: OpDef("PIPE", openclose.prep_pipe, openclose.issue_pipe),
    # Futex ops on the program's memory (futex.py); a wait is cancelled when
    # its task exits, as Linux's io_futex_remove_all() does.
    abi.OP_FUTEX_WAIT: OpDef("FUTEX_WAIT", futex.prep, futex.issue_wait),
    abi.OP_FUTEX_WAKE: OpDef("FUTEX_WAKE", futex.prep, futex.issue_wake),
    abi.OP_FUTEX_WAITV: OpDef("FUTEX_WAITV", futex.prep_waitv, futex.issue_wait),
    abi.OP_WAITID: OpDef("WAITID", waitid.prep, waitid.issue),
    abi.OP_FIXED_FD_INSTALL: OpDef("FIXED_FD_INSTALL", openclose.prep_fixed_fd_install,
                                   openclose.issue_fixed_fd_install, needs_file=True),
}



def _check_table():
    """Like Linux's io_uring_optable_init(): an inconsistent table fails at
    import, not at the first SQE that meets it."""
    for op, d in OPS.items():
        assert d.name == abi.op_name(op), (op, d.name)
        assert callable(d.prep) and callable(d.issue), d.name
        assert d.poll in (0, POLLIN, POLLOUT), d.name
        assert not d.buffer_select or d.needs_file, d.name   # it selects for a file
        assert d.cleanup is None or callable(d.cleanup), d.name


_check_table()
op_name = abi.op_name
