"""IORING_OP_SPLICE and IORING_OP_TEE (Linux's io_uring/splice.c).

The output file is sqe->fd (req.file, resolved like any needs_file op); the
input is sqe->splice_fd_in, a child fd or, with SPLICE_F_FD_IN_FIXED in the
flags, a registered-file index.  Both are moved by the host's splice(2) or
tee(2) on the Sentry's fds, which share the child's open file descriptions,
so offsets, file positions and every errno are the host's.

Linux runs these ops in an io-wq worker (REQ_F_FORCE_ASYNC) where they may
block on a pipe for as long as it takes.  The Sentry must never block, so it
adds SPLICE_F_NONBLOCK and, when the host says EAGAIN, waits for the side
that blocked to become ready and issues the request again; a program sees
the same completion, only later.  A program that asked for SPLICE_F_NONBLOCK
itself gets the EAGAIN, as in Linux.
"""
import errno
import os

from pysentry.platform import libc
from pysentry.sentry.syscalls import numbers
from pysentry.sentry.uapi import POLLIN, POLLOUT

SPLICE_F_MOVE = 0x01
SPLICE_F_NONBLOCK = 0x02
SPLICE_F_MORE = 0x04
SPLICE_F_GIFT = 0x08
SPLICE_F_ALL = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT
SPLICE_F_FD_IN_FIXED = 1 << 31

_NO_OFFSET = (1 << 64) - 1      # an offset of -1: use (and advance) the file position


def _prep_common(req):
    # __io_splice_prep(): only the splice(2) flags and FD_IN_FIXED are known.
    if req.op_flags & ~(SPLICE_F_ALL | SPLICE_F_FD_IN_FIXED):
        raise OSError(errno.EINVAL, "unknown splice flags")
    # Anything short of len bytes fails the request for its link (Linux
    # calls req_set_fail() when ret != len).
    req.expected = req.len


def prep_splice(req):
    _prep_common(req)


def prep_tee(req):
    # io_tee_prep(): tee has no offsets.
    if req.addr or req.off:
        raise OSError(errno.EINVAL, "tee takes no offsets")
    _prep_common(req)


def _input(req, kernel):
    """The input file (the op's own state, req.cmd), resolved at the first
    issue (io_splice_get_file()) and kept, with its reference, until the
    request is released (cleanup)."""
    if req.cmd is None:
        idx = req.splice_fd_in
        if req.op_flags & SPLICE_F_FD_IN_FIXED:
            # An index outside the table or an empty slot is EBADF.
            if req.ring.file_table is None:
                raise OSError(errno.EBADF, "no registered files")
            req.cmd = req.ring.file_table.get(idx, req)
        else:
            req.cmd = kernel.lookup_file(req.task, idx)
    return req.cmd


def cleanup(req):
    """Drop the input file's reference (opdef cleanup hook)."""
    if req.cmd is not None:
        req.cmd.put()
        req.cmd = None


def _host_fd(f):
    # A description without a host fd (an io_uring ring) has no
    # ->splice_read/->splice_write: Linux fails the splice with EINVAL.
    fd = getattr(f, "fd", None)
    if fd is None or fd < 0:
        raise OSError(errno.EINVAL, "file cannot splice")
    return fd


def _offset(v):
    if v == _NO_OFFSET:
        return None
    # Other negative offsets are passed on for the host to refuse (EINVAL).
    return numbers.signed64(v)


class _Recheck:
    """Stands in for a file whose readiness cannot be watched: the poller
    re-issues the request after a short delay (see Poller.wait)."""

    @staticmethod
    def poll_fd():
        return None


def _streams_ready(fin, fout):
    """For sockets, ttys and other streams that are not pipes, the host may
    ignore SPLICE_F_NONBLOCK and block the Sentry: check readiness first.
    Returns (file, events) to wait on, or None to go ahead."""
    if not fin.seekable and fin.kind != "fifo" and not fin.ready(POLLIN):
        return fin, POLLIN
    if not fout.seekable and fout.kind != "fifo" and not fout.ready(POLLOUT):
        return fout, POLLOUT
    return None


def _offsets_refused(fin, fout, off_in, off_out):
    """do_splice()'s offset checks, which Linux makes before it could wait:
    an offset on a pipe side is ESPIPE (checked first), one on a non-pipe
    side that has no positional I/O (no FMODE_PREAD/FMODE_PWRITE: a socket,
    a tty) EINVAL.
    Seekable files never wait, so only streams are checked here."""
    sides = ((fin, off_in, fout), (fout, off_out, fin))
    if any(off is not None and f.kind == "fifo" for f, off, _ in sides):
        raise OSError(errno.ESPIPE, "offset on a pipe")
    if any(off is not None and other.kind == "fifo" and not f.seekable
           for f, off, other in sides):
        raise OSError(errno.EINVAL, "offset on a file without pread/pwrite")


def _transfer(req, kernel, call, both_pipes=False, offsets=(None, None)):
    fin = _input(req, kernel)
    if req.len == 0:
        return 0          # Linux resolves the input but moves nothing
    # io_splice calls do_splice(), which checks the open modes (EBADF)
    # before the offsets on pipes (ESPIPE); splice(2) checks them the other
    # way round, so the Sentry checks the modes itself first.
    mode_in, mode_out = fin.access_mode(), req.file.access_mode()
    if (mode_in is not None and mode_in == os.O_WRONLY) or (
            mode_out is not None and mode_out == os.O_RDONLY):
        raise OSError(errno.EBADF, "input not readable or output not writable")
    # Then do_splice() needs a pipe on one side and do_tee() on both, else
    # EINVAL -- before anything could wait for the other side to be ready.
    pipes = (fin.kind == "fifo", req.file.kind == "fifo")
    if not (all(pipes) if both_pipes else any(pipes)):
        raise OSError(errno.EINVAL, "no pipe to splice through")
    if getattr(fin, "fd", None) is None or getattr(req.file, "fd", None) is None:
        # A side without a host fd (an io_uring ring) cannot splice, which
        # do_splice() finds only after its offset checks (ESPIPE first).
        _offsets_refused(fin, req.file, *offsets)
    fd_in, fd_out = _host_fd(fin), _host_fd(req.file)
    user_nonblock = req.op_flags & SPLICE_F_NONBLOCK
    flags = req.op_flags & SPLICE_F_ALL
    if not user_nonblock:
        wait = _streams_ready(fin, req.file)
        if wait is not None:
            # Waiting would lose the error Linux posts at once.
            _offsets_refused(fin, req.file, *offsets)
            return _wait(req, *wait)
    try:
        return call(fd_in, fd_out, flags | SPLICE_F_NONBLOCK)
    except BlockingIOError:
        if user_nonblock:
            raise
    # Blocked: on the input if it has nothing to give, else on the output.
    if not fin.ready(POLLIN):
        return _wait(req, fin, POLLIN)
    if not req.file.ready(POLLOUT):
        return _wait(req, req.file, POLLOUT)
    return _wait(req, _Recheck, 0)     # both look ready (a race): try again soon


def _wait(req, f, events):
    # submit.py waits on req.poll_fd(): req.poll_file when set, else req.file.
    req.poll_file = None if f is req.file else f
    req.poll_events = events
    return None


def issue_splice(req, kernel):
    off_in, off_out = _offset(req.addr), _offset(req.off)
    return _transfer(req, kernel, lambda fd_in, fd_out, flags: libc.splice(
        fd_in, off_in, fd_out, off_out, req.len, flags), offsets=(off_in, off_out))


def issue_tee(req, kernel):
    return _transfer(req, kernel, lambda fd_in, fd_out, flags: libc.tee(
        fd_in, fd_out, req.len, flags), both_pipes=True)

