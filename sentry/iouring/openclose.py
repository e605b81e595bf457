"""OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL and PIPE (Linux's io_uring/openclose.c).

Paths are copied at prep (Linux's getname(), so a child rewriting the string
after submission changes nothing).

  * A normal open or close changes the child's fd table, so it runs as task
    work in the submitting thread: an injected openat/openat2/close (see
    taskwork.py) of the program's own path and dirfd.  The walk, the fd
    number, RLIMIT_NOFILE, umask and credentials are then the child's own,
    exactly as in Linux.
  * A direct open (sqe->file_index set) puts the file in the ring's fixed
    file table and never touches the fd table: the Sentry opens it itself,
    through its fd-based walk (vfs/walk.py, RESOLVE_* flags honoured there),
    with the child's umask and the request's credentials.
  * An open that must run with other credentials than the thread's own (a
    registered personality, or an SQPOLL ring's creator's, see
    personality.creds_for) is opened the same way by the Sentry, then
    installed in the child's fd table as task work (sentry/fdchannel.py).
"""
import errno
import os
import struct

from pysentry.platform import libc
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry import fdchannel
from pysentry.sentry.iouring import abi, filetable, taskwork
from pysentry.sentry.iouring.personality import as_submitter, borrows_creds
from pysentry.sentry.syscalls import numbers
from pysentry.vfs.file import HostFileDescription
from pysentry.sentry.uapi import O_PATH, PATH_MAX

OPEN_HOW = struct.Struct("<QQQ")      # flags, mode, resolve (OPEN_HOW_SIZE_VER0)
O_TMPFILE_MASK = 0o20000000 | os.O_DIRECTORY
FIXED_FD_NO_CLOEXEC = 1 << 0


def _copy_path(req):
    # getname(): EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX, ENOENT
    # for an empty name.
    path = req.task.mem.read_cstring(req.addr, PATH_MAX)
    if not path:
        raise OSError(errno.ENOENT, "empty path")
    return path


class OpenCmd:
    """An OPENAT's or OPENAT2's own state (Linux's struct io_open, req.cmd):
    the path copied at prep and the open_how (flags, mode, resolve);
    openat2 says whether it came as an OPENAT2 (checked as openat2 checks)."""

    __slots__ = ("path", "how", "openat2")

    def __init__(self, how, openat2):
        self.path = None
        self.how = how
        self.openat2 = openat2


def _prep_open_common(req):
    if req.buf_index:
        raise OSError(errno.EINVAL, "buf_index is reserved")
    if req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "open takes no fixed file")
    req.cmd.path = _copy_path(req)
    if req.splice_fd_in and req.cmd.how[0] & os.O_CLOEXEC:
        raise OSError(errno.EINVAL, "O_CLOEXEC on a direct descriptor")


def prep_openat(req):
    flags, mode = req.op_flags, req.len
    if not flags & (os.O_CREAT | O_TMPFILE_MASK):
        mode = 0                      # build_open_how(): mode only matters when creating
    req.cmd = OpenCmd((flags, mode, 0), False)
    _prep_open_common(req)


def prep_openat2(req):
    size = req.len
    if size < OPEN_HOW.size:
        raise OSError(errno.EINVAL, "open_how too small")
    mem = req.task.mem
    # copy_struct_from_user(): a larger struct is fine if the tail is zero.
    # The tail is checked first (check_zeroed_user), up to its first
    # non-zero byte: one before an unmapped page is E2BIG, the fault EFAULT;
    # the struct itself is copied after.  The Sentry looks at the first
    # PATH_MAX bytes only, and takes a larger struct whose look found
    # neither for one with unknown fields.
    if size > OPEN_HOW.size:
        tail = min(size, PATH_MAX) - OPEN_HOW.size
        view, readable = mem.mirror(req.off + OPEN_HOW.size, tail)
        if any(view[:readable]):
            raise OSError(errno.E2BIG, "unknown open_how fields")
        if readable < tail:
            raise OSError(errno.EFAULT, "open_how tail unmapped")
        if size > PATH_MAX:
            raise OSError(errno.E2BIG, "unknown open_how fields")
    req.cmd = OpenCmd(OPEN_HOW.unpack(mem.read(req.off, OPEN_HOW.size)), True)
    _prep_open_common(req)


def follows_last(flags):
    """Does an open with these flags follow a final symlink?  O_CREAT|O_EXCL
    never does (it fails with EEXIST)."""
    return not flags & os.O_NOFOLLOW and (flags & (os.O_CREAT | os.O_EXCL)) != (
        os.O_CREAT | os.O_EXCL)


def issue_open(req, kernel):
    if req.splice_fd_in:
        return _open_direct(kernel, req)
    if borrows_creds(req):
        # The thread's own credentials are not the ones to open with, so
        # the Sentry opens the file with the request's and then gives the
        # child the fd.
        hostfd = _open_in_sentry(kernel, req)
        return taskwork.queue(kernel, req, lambda k, t, r: _install_opened(k, t, r, hostfd))
    return taskwork.queue(kernel, req, _open_in_task)


def _open_in_task(kernel, task, req):
    """The child's own openat/openat2 of its own path from its own dirfd."""
    op = req.cmd
    flags, mode, resolve = op.how
    data = (OPEN_HOW.pack(flags, mode, resolve) if op.openat2 else b"") + op.path + b"\0"
    addr = task.scratch(len(data))
    task.mem.write(addr, data)
    dirfd = numbers.signed_fd(req.fd)
    if op.openat2:
        fd = yield InjectSyscall(numbers.injected(task.stop_abi, "openat2"), dirfd,
                                 addr + OPEN_HOW.size, addr, OPEN_HOW.size)
    else:
        fd = yield InjectSyscall(numbers.openat(task.stop_abi), dirfd, addr, flags, mode)
    if fd >= 0:
        task.fdtable.drop(fd)      # a stale cache entry for a reused number
    return fd


def _install_opened(kernel, task, req, hostfd):
    try:
        fd = yield from fdchannel.install(kernel, task, hostfd, bool(req.cmd.how[0] & os.O_CLOEXEC))
    except BaseException:
        os.close(hostfd)
        raise
    if fd < 0:
        os.close(hostfd)
    else:
        task.fdtable.install(fd, HostFileDescription(hostfd))
    return fd


def _open_direct(kernel, req):
    fd = _open_in_sentry(kernel, req)
    return filetable.install_direct(req.ring, HostFileDescription(fd), req.file_index)


__O_TMPFILE = 0o20000000
_VALID_OPEN_FLAGS = (os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_NOCTTY | os.O_TRUNC
                     | os.O_APPEND | os.O_NONBLOCK | os.O_SYNC | os.O_DSYNC | os.O_ASYNC
                     | os.O_DIRECT | 0o100000 | os.O_DIRECTORY | os.O_NOFOLLOW
                     | os.O_NOATIME | os.O_CLOEXEC | O_PATH | __O_TMPFILE)   # (O_LARGEFILE)
_O_PATH_FLAGS = os.O_DIRECTORY | os.O_NOFOLLOW | O_PATH | os.O_CLOEXEC


def _checked_how(req):
    """The open_how Linux would open with, after its own checks.

    openat(2)'s flags and mode become an open_how the way build_open_how()
    makes one (unknown flags dropped, O_PATH keeping only its companions,
    mode only when creating); openat2(2)'s is taken as given.  Either is
    then checked by the host's own build_open_flags(): an openat2() of an
    empty path fails with that check's errno (EINVAL, EAGAIN for
    RESOLVE_CACHED with O_CREAT, ...) before any lookup, or else ENOENT.
    """
    flags, mode, resolve = req.cmd.how
    if not req.cmd.openat2:
        flags &= _VALID_OPEN_FLAGS
        if flags & O_PATH:
            flags &= _O_PATH_FLAGS
        mode = mode & 0o7777 if flags & (os.O_CREAT | __O_TMPFILE) else 0
    try:
        libc.openat2(-1, b"", OPEN_HOW.pack(flags, mode, resolve))
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
    return flags, mode, resolve


def _open_in_sentry(kernel, req):
    """Open in the Sentry, walking on fds as the request's credentials, with
    the child's umask; returns the Sentry's fd."""
    flags, mode, resolve = _checked_how(req)
    task = req.task
    with task.umask_applied(), as_submitter(req) as acting:
        with kernel.walker(task, numbers.signed_fd(req.fd), req.cmd.path, resolve=resolve,
                           acting=acting) as walk:
            return walk.open(req.cmd.path, flags, mode, follows_last(flags))


# --- CLOSE -------------------------------------------------------------------------
def prep_close(req):
    if req.off or req.addr or req.len or req.op_flags or req.buf_index:
        raise OSError(errno.EINVAL, "reserved close fields")
    if req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "close takes no fixed file")
    if req.splice_fd_in and req.fd:
        raise OSError(errno.EINVAL, "both fd and file_index")


def issue_close(req, kernel):
    if req.splice_fd_in:
        if req.ring.file_table is None:
            return -errno.ENXIO
        req.ring.file_table.remove(req.splice_fd_in - 1)
        return 0
    return taskwork.queue(kernel, req, _close_in_task)


def _close_in_task(kernel, task, req):
    fd = numbers.signed_fd(req.fd)
    if kernel.ring_of(task, fd) is not None:       # EBADF when fd is not open
        return -errno.EBADF       # io_close(): an io_uring fd cannot be closed this way
    task.fdtable.drop(fd)
    return (yield InjectSyscall(numbers.injected(task.stop_abi, "close"), fd))


# --- FIXED_FD_INSTALL ------------------------------------------------------------------
def prep_fixed_fd_install(req):
    # Linux's io_install_fixed_fd_prep() checks the reserved fields (EINVAL)
    # before asking for a registered file (EBADF without IOSQE_FIXED_FILE).
    if req.off or req.addr or req.len or req.buf_index or req.splice_fd_in or req.addr3:
        raise OSError(errno.EINVAL, "reserved fields")
    if not req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "needs a fixed file")
    if req.op_flags & ~FIXED_FD_NO_CLOEXEC:
        raise OSError(errno.EINVAL, "unknown install flags")


def issue_fixed_fd_install(req, kernel):
    return taskwork.queue(kernel, req, _install_in_task)


def _install_in_task(kernel, task, req):
    cloexec = not req.op_flags & FIXED_FD_NO_CLOEXEC
    return (yield from fdchannel.install(kernel, task, req.file.fd, cloexec))


# --- PIPE --------------------------------------------------------------------------------
O_NOTIFICATION_PIPE = os.O_EXCL
_PIPE_FLAGS = os.O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT | O_NOTIFICATION_PIPE
_PIPE_FDS = struct.Struct("<ii")


def prep_pipe(req):
    """io_pipe_prep(): sqe->addr points at int fds[2]; pipe_flags are pipe2's
    (O_NOTIFICATION_PIPE included); fd and off are reserved (len is not
    looked at); a direct pipe cannot be O_CLOEXEC."""
    if req.fd or req.off or req.addr3:
        raise OSError(errno.EINVAL, "reserved pipe fields")
    if req.op_flags & ~_PIPE_FLAGS:
        raise OSError(errno.EINVAL, "unknown pipe flags")
    if req.file_index and req.op_flags & os.O_CLOEXEC:
        raise OSError(errno.EINVAL, "O_CLOEXEC on a direct descriptor")


def issue_pipe(req, kernel):
    if req.file_index:
        return _pipe_direct(req)
    return taskwork.queue(kernel, req, _pipe_in_task)


def _pipe_in_task(kernel, task, req):
    # pipe2(2) in the child writes the fds to sqe->addr itself and undoes
    # everything on -EFAULT, as io_pipe_fd() does.
    res = yield InjectSyscall(numbers.injected(task.stop_abi, "pipe2"), req.addr, req.op_flags)
    if res == 0:
        for fd in _PIPE_FDS.unpack(task.mem.read(req.addr, _PIPE_FDS.size)):
            task.fdtable.drop(fd)       # a stale cache entry for a reused number
    return res


def _pipe_direct(req):
    """Both ends go to the ring's file table: slots file_index-1 and
    file_index, or two picked with IORING_FILE_INDEX_ALLOC; fds[] receives
    the slot numbers (0-based), as io_pipe_fixed() writes them."""
    table = req.ring.file_table
    if table is None:
        return -errno.ENFILE if req.file_index == filetable.FILE_INDEX_ALLOC else -errno.ENXIO
    rfd, wfd = os.pipe2(req.op_flags | os.O_CLOEXEC)
    ends = [HostFileDescription(rfd), HostFileDescription(wfd)]
    slots = []
    try:
        for n in range(2):
            want = req.file_index if req.file_index == filetable.FILE_INDEX_ALLOC \
                else req.file_index + n
            desc = ends[n]
            ends[n] = None            # the table owns it now (or dropped it on error)
            got = table.install(desc, want)
            slots.append(got if want == filetable.FILE_INDEX_ALLOC else want - 1)
        req.task.mem.write(req.addr, _PIPE_FDS.pack(*slots))
    except OSError:
        for index in slots:
            table.remove(index)
        for desc in ends:
            if desc is not None:
                desc.put()
        raise
    return 0
