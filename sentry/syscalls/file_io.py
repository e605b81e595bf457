"""read/write/pread64/pwrite64/readv/writev/preadv(2)/pwritev(2)/fsync/fdatasync.

Every one of these runs on the host, in the program, on every file but an
io_uring ring: the program's fd and the Sentry's refer to the same open
file description (Kernel.lookup_file takes the Sentry's over with
pidfd_getfd or SCM_RIGHTS), so the host gives Linux's own result -- it *is*
Linux's.  That holds for regular files too, position and all: the Sentry
keeps no file position of its own.  Its reads and writes at the file
position (read(2), io_uring READ/WRITE at offset -1: vfs/file.py) use the
host description's f_pos (lseek(SEEK_CUR) on the shared description, or a
host write(2)), so a read(2) the host runs in the program moves the very
position the Sentry's io_uring requests read next.  And nothing of the
Sentry needs to see the call: no file content, size or permission is
virtualised (the program's open(2) is the host's), nothing the Sentry
waits on is a regular file (no ->poll), and io_uring requests in flight
meet the host's file as a host read(2) would.

The host's result is more exactly Linux's than the Sentry's serving it
would be, because the call runs as the program rather than as the Sentry:
RLIMIT_FSIZE and SIGXFSZ are the program's; a write clears a set-user-ID
bit by the program's capabilities (file_remove_privs); a read into a
partly mapped buffer stops at the program's own fault; O_DIRECT checks
the program's buffer alignment, not a bounce buffer's; the I/O is
accounted to the program (/proc/PID/io's rchar and wchar: add_rchar(current))
and new page cache charged to its memory cgroup; a read(2) takes
f_pos_lock against the program's own lseek(2), which the Sentry's
lseek/preadv/lseek could not; a write(2) of more than CHUNK bytes is one
host write, not several.

So the only call the Sentry answers itself is one on a ring fd: an
io_uring file has no read/write (EINVAL), and is not FMODE_PREAD either
(ESPIPE for the calls at an offset).  The C trap step
(platform/native/trap.c) passes the hot four (read, write, pread64,
pwrite64) to the host without a return to Python (dataplane.trap_kind).

PYSENTRY_SERVE_FILES=1 makes the Sentry serve regular files itself again,
as it did before: pread64/pwrite64 through their short path (and the C
trap step's PS_TK_SERVE), the rest through the FileDescription methods
io_uring's READ/WRITE ops use.  It is kept to measure what serving costs
(tools/bench.py) and to test that path, which io_uring still relies on.

A write to a stream (and, to wake an inotify watcher, to any file) may
wake the Sentry's waiters: see _serve.
"""
import errno
import os

from pysentry.mm import iov as iovmod
from pysentry.mm.child_memory import MAX_RW_COUNT, access_ok
from pysentry.platform.task import ABI_X86_64
from pysentry.platform.tracer import PASSTHROUGH, PassThenCall
from pysentry.sentry.syscalls.numbers import signed_fd
from pysentry.vfs.file import CHUNK

_OFF_CUR = (1 << 64) - 1

# The Sentry serves regular files itself (see above): for measurements and tests.
SERVE_FILES = os.environ.get("PYSENTRY_SERVE_FILES") == "1"

# PYSENTRY_WAKE_IN_WRITE=1: on every ring, not only while a DEFER_TASKRUN
# ring exists, a write to a stream runs the Sentry's waiters at its exit
# stop (_serve), so a request the write wakes has completed when write(2)
# returns, as in Linux when the writer is its submitter.  Exact, but an
# extra stop per write while anything waits; the fuzzer uses it to show a
# divergence is only that (docs/io_uring.md, "Deferred task running").
WAKE_IN_WRITE = os.environ.get("PYSENTRY_WAKE_IN_WRITE") == "1"


def _regular_file(kernel, task, fd, positional):
    """The description if the Sentry serves this fd (only a regular file,
    and only with SERVE_FILES), None to pass through."""
    desc = kernel.lookup_file(task, signed_fd(fd))
    if desc.kind == "io_uring":
        desc.put()
        # An io_uring file has no read/write (EINVAL), and is not FMODE_PREAD
        # either: the calls at an offset fail first with ESPIPE.
        raise OSError(errno.ESPIPE if positional else errno.EINVAL, "io_uring fd")
    if desc.kind != "reg" or not SERVE_FILES:
        desc.put()
        return None
    return desc


def _serve(kernel, task, fd, fn, write=False, positional=False):
    """fn(desc) on a regular file the Sentry serves; anything else runs on
    the host.  A write may then wake the Sentry's waiters (below): a
    stream's readers, or an inotify fd's watching a regular file."""
    desc = _regular_file(kernel, task, fd, positional)
    if desc is None:
        if write and (kernel.io_uring.defer_rings or WAKE_IN_WRITE) and kernel.poller.busy():
            # The host runs the write unchanged; the Sentry's waiters run
            # at its exit stop, before the child goes on.  Only while a
            # DEFER_TASKRUN ring exists: there Linux raises IORING_SQ_TASKRUN
            # and signals the eventfd inside write(2), and programs check
            # right after it.  Elsewhere the completion follows the write
            # shortly, as it does in Linux when another thread wrote; the
            # exit stop would cost every write on a busy event loop ~40%.
            return PassThenCall(kernel.tracer.run_ready)
        return PASSTHROUGH
    try:
        return fn(desc)
    finally:
        desc.put()


def _buffer(addr, count):
    # vfs_read()/vfs_write(): access_ok() on the count asked for, then the
    # count is clamped to MAX_RW_COUNT.
    if not access_ok(addr, count):
        raise OSError(errno.EFAULT, "bad buffer")
    return [(addr, min(count, MAX_RW_COUNT))]


def _pos(pos):
    if pos >= 1 << 63:
        raise OSError(errno.EINVAL, "negative offset")
    return pos


def sys_read(kernel, task, stop):
    fd, buf, count = stop.args[:3]
    return _serve(kernel, task, fd, lambda d: d.read(task.mem, _buffer(buf, count), None))


def sys_write(kernel, task, stop):
    fd, buf, count = stop.args[:3]
    return _serve(kernel, task, fd, lambda d: d.write(task.mem, _buffer(buf, count), None),
                  write=True)


def _simple(task, fd, buf, count, pos):
    """The description for the common case of pread64/pwrite64, or None: an fd
    the Sentry already holds on a regular file, one buffer it may touch, a
    valid offset.  Every other case takes the general path below, which
    gives the same result with all of its checks.  None unless SERVE_FILES:
    the host runs the call."""
    if not SERVE_FILES:
        return None
    desc = task.fdtable.entries.get(fd)
    if (desc is not None and desc.kind == "reg" and 0 < count <= CHUNK and pos < 1 << 63
            and access_ok(buf, count)):
        return desc
    return None


def sys_pread64(kernel, task, stop):
    fd, buf, count, pos = stop.args[:4]
    desc = _simple(task, fd, buf, count, pos)
    if desc is not None:
        n = desc.pread_simple(task.tid, buf, count, pos)
        if n is not None:
            return n
    return _serve(kernel, task, fd, lambda d: d.read(task.mem, _buffer(buf, count), _pos(pos)),
                  positional=True)


def sys_pwrite64(kernel, task, stop):
    fd, buf, count, pos = stop.args[:4]
    desc = _simple(task, fd, buf, count, pos)
    if desc is not None:
        n = desc.pwrite_simple(task.tid, buf, count, pos)
        if n is not None:
            return n
    return _serve(kernel, task, fd, lambda d: d.write(task.mem, _buffer(buf, count), _pos(pos)),
                  write=True, positional=True)


def _iovs(task, stop, vec, vlen):
    return iovmod.read_iovecs(task.mem, vec, vlen & 0xFFFFFFFF, stop.abi != ABI_X86_64)


def sys_readv(kernel, task, stop):
    fd, vec, vlen = stop.args[:3]
    return _serve(kernel, task, fd, lambda d: d.read(task.mem, _iovs(task, stop, vec, vlen), None))


def sys_writev(kernel, task, stop):
    fd, vec, vlen = stop.args[:3]
    return _serve(kernel, task, fd,
                  lambda d: d.write(task.mem, _iovs(task, stop, vec, vlen), None), write=True)


def _v2(kernel, task, stop, write, with_flags):
    fd, vec, vlen, pos = stop.args[:4]
    flags = stop.args[5] & 0xFFFFFFFF if with_flags else 0
    if with_flags and pos == _OFF_CUR:
        pos = None            # preadv2/pwritev2 with offset -1 use the file position
    else:
        pos = _pos(pos)

    def op(d):
        iovs = _iovs(task, stop, vec, vlen)
        return (d.write if write else d.read)(task.mem, iovs, pos, flags)
    return _serve(kernel, task, fd, op, write, positional=pos is not None)


def sys_preadv(kernel, task, stop):
    return _v2(kernel, task, stop, False, False)


def sys_pwritev(kernel, task, stop):
    return _v2(kernel, task, stop, True, False)


def sys_preadv2(kernel, task, stop):
    return _v2(kernel, task, stop, False, True)


def sys_pwritev2(kernel, task, stop):
    return _v2(kernel, task, stop, True, True)


def sys_fsync(kernel, task, stop):
    return _serve(kernel, task, stop.args[0], lambda d: d.fsync(False) or 0)


def sys_fdatasync(kernel, task, stop):
    return _serve(kernel, task, stop.args[0], lambda d: d.fsync(True) or 0)
