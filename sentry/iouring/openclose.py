"""OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL and PIPE (Linux's io_uring/openclose.c).

Paths are copied at prep (Linux's getname(), so a child rewriting the string
after submission changes nothing) and resolved by the Sentry's VFS at issue,
as the open(2) family is.

  * A normal open or close changes the child's fd table, so it runs as task
    work in the submitting thread: an injected openat/openat2/close (see
    taskwork.py).  The fd number, RLIMIT_NOFILE, umask and credentials are
    then the child's own, exactly as in Linux.
  * A direct open (sqe->file_index set) puts the file in the ring's fixed
    file table and never touches the fd table: the Sentry opens it itself,
    with the child's umask and credentials.
  * An open with a registered personality (sqe->personality) is opened by
    the Sentry with the personality's credentials, then installed in the
    child's fd table as task work (sentry/fdinstall.py).
"""
import errno
import os
import struct

from pysentry.platform import libc
from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry import fdinstall
from pysentry.sentry.iouring import abi, filetable, taskwork
from pysentry.sentry.iouring.file import IoUringFileDescription
from pysentry.sentry.iouring.personality import as_submitter
from pysentry.sentry.syscalls import numbers
from pysentry.sentry.syscalls.fs import follows_last, open_in_child
from pysentry.vfs.file import HostFileDescription

OPEN_HOW = struct.Struct("<QQQ")      # flags, mode, resolve (OPEN_HOW_SIZE_VER0)
PATH_MAX = 4096
O_PATH = 0o10000000
O_TMPFILE_MASK = 0o20000000 | os.O_DIRECTORY
FIXED_FD_NO_CLOEXEC = 1 << 0
AT_FDCWD = -100


def _copy_path(req):
    # getname(): EFAULT for a bad pointer, ENAMETOOLONG past PATH_MAX, ENOENT
    # for an empty name.
    path = req.task.mem.read_cstring(req.addr, PATH_MAX)
    if not path:
        raise OSError(errno.ENOENT, "empty path")
    return path


def _prep_open_common(req):
    if req.buf_index:
        raise OSError(errno.EINVAL, "buf_index is reserved")
    if req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "open takes no fixed file")
    req.path = _copy_path(req)
    if req.splice_fd_in and req.open_how[0] & os.O_CLOEXEC:
        raise OSError(errno.EINVAL, "O_CLOEXEC on a direct descriptor")


def prep_openat(req):
    flags, mode = req.op_flags, req.len
    if not flags & (os.O_CREAT | O_TMPFILE_MASK):
        mode = 0                      # build_open_how(): mode only matters when creating
    req.open_how = (flags, mode, 0)
    req.open2 = False
    _prep_open_common(req)


def prep_openat2(req):
    size = req.len
    if size < OPEN_HOW.size:
        raise OSError(errno.EINVAL, "open_how too small")
    raw = req.task.mem.read(req.off, min(size, PATH_MAX))
    # copy_struct_from_user(): a larger struct is fine if the tail is zero.
    if size > OPEN_HOW.size and (size > PATH_MAX or any(raw[OPEN_HOW.size:])):
        raise OSError(errno.E2BIG, "unknown open_how fields")
    req.open_how = OPEN_HOW.unpack(raw[:OPEN_HOW.size])
    req.open2 = True
    _prep_open_common(req)


def _resolve(kernel, req):
    flags = req.open_how[0]
    resolved = kernel.vfs_resolve(req.task, numbers.signed_fd(req.fd), req.path,
                                  follows_last(flags))
    return resolved.host_path


def issue_open(req, kernel):
    flags, mode, resolve = req.open_how
    if req.open2 and resolve:
        # RESOLVE_* restrict the walk itself (BENEATH, NO_SYMLINKS, ...): the
        # host walks the child's own dirfd and path.  With only the root
        # mount the guest and host namespaces are the same walk.
        host_path = None
    else:
        host_path = _resolve(kernel, req)
    if req.splice_fd_in:
        return _open_direct(kernel, req, host_path)
    if req.creds is not None:
        # A registered personality: the thread's own credentials are not the
        # ones to open with, so the Sentry opens the file with them and then
        # gives the child the fd.
        hostfd = _open_in_sentry(kernel, req, host_path)
        return taskwork.queue(kernel, req,
                              lambda k, t, r: _install_opened(k, t, r, hostfd, host_path))
    return taskwork.queue(kernel, req, lambda k, t, r: _open_in_task(k, t, r, host_path))


def _open_in_task(kernel, task, req, host_path):
    flags, mode, resolve = req.open_how
    chrooted = host_path is not None and kernel.task_root(task) != b"/"
    if chrooted:
        # The host path would be looked up again under the child's root:
        # let the child walk its own path from its own dirfd.
        data = req.path + b"\0"
        path_ptr = task.scratch(len(data) + (OPEN_HOW.size if req.open2 else 0))
        task.mem.write(path_ptr, data)
        if not req.open2:
            return (yield from open_in_child(kernel, task, host_path, flags, mode,
                                             numbers.signed_fd(req.fd), path_ptr))
        host_path = None
    if not req.open2:
        return (yield from open_in_child(kernel, task, host_path, flags, mode))
    path = req.path if host_path is None else host_path
    dirfd = numbers.signed_fd(req.fd) if host_path is None else numbers.AT_FDCWD
    how = OPEN_HOW.pack(flags, mode, resolve)
    data = how + path + b"\0"
    addr = task.scratch(len(data))
    task.mem.write(addr, data)
    fd = yield InjectSyscall(numbers.injected(task.stop_abi, "openat2"), dirfd,
                             addr + OPEN_HOW.size, addr, OPEN_HOW.size)
    if fd >= 0:
        kernel.adopt_fd(task, fd, host_path or path)
    return fd


def _install_opened(kernel, task, req, hostfd, host_path):
    try:
        fd = yield from fdinstall.install(task, hostfd, bool(req.open_how[0] & os.O_CLOEXEC))
    except BaseException:
        os.close(hostfd)
        raise
    if fd < 0:
        os.close(hostfd)
    else:
        task.fdtable.install(fd, HostFileDescription(hostfd, host_path))
    return fd


def _open_direct(kernel, req, host_path):
    fd = _open_in_sentry(kernel, req, host_path)
    return filetable.install_direct(req.ring, HostFileDescription(fd, host_path), req.file_index)


def _open_in_sentry(kernel, req, host_path):
    """Open in the Sentry as the request's credentials and the child's umask."""
    flags, mode, resolve = req.open_how
    task = req.task
    dirfd, held, cwd = AT_FDCWD, None, -1
    if host_path is None:
        # The walk starts where the child's would: its dirfd or its cwd.
        if numbers.signed_fd(req.fd) != AT_FDCWD:
            held = kernel.lookup_file(task, numbers.signed_fd(req.fd))
            dirfd = held.fd
        else:
            cwd = dirfd = os.open("/proc/%d/cwd" % task.tid, O_PATH | os.O_CLOEXEC)
    try:
        with task.umask_applied(), as_submitter(req):
            if req.open2:
                how = OPEN_HOW.pack(flags | os.O_CLOEXEC, mode, resolve)
                fd = libc.openat2(dirfd, host_path or req.path, how)
            else:
                fd = os.open(host_path, flags | os.O_CLOEXEC, mode)
    finally:
        if held is not None:
            held.put()
        if cwd >= 0:
            os.close(cwd)
    return fd


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
    desc = kernel.lookup_file(task, fd)      # EBADF when fd is not open
    is_ring = isinstance(desc, IoUringFileDescription)
    desc.put()
    if is_ring:
        return -errno.EBADF       # io_close(): an io_uring fd cannot be closed this way
    task.fdtable.drop(fd)
    return (yield InjectSyscall(numbers.injected(task.stop_abi, "close"), fd))


# --- FIXED_FD_INSTALL ------------------------------------------------------------------
def prep_fixed_fd_install(req):
    # The source must be a registered file (IOSQE_FIXED_FILE is required).
    if not req.flags & abi.IOSQE_FIXED_FILE:
        raise OSError(errno.EBADF, "needs a fixed file")
    if req.off or req.addr or req.len or req.buf_index or req.splice_fd_in or req.addr3:
        raise OSError(errno.EINVAL, "reserved fields")
    if req.op_flags & ~FIXED_FD_NO_CLOEXEC:
        raise OSError(errno.EINVAL, "unknown install flags")


def issue_fixed_fd_install(req, kernel):
    return taskwork.queue(kernel, req, _install_in_task)


def _install_in_task(kernel, task, req):
    cloexec = not req.op_flags & FIXED_FD_NO_CLOEXEC
    return (yield from fdinstall.install(task, req.file.fd, cloexec))


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
