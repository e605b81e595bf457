"""readlink(2)/readlinkat(2) of a ring fd's /proc entry.

Linux names an io_uring fd `anon_inode:[io_uring]` in /proc/<pid>/fd (and so
in `ls -l`, lsof, and programs that check what an fd is).  The program's ring
fd here is an eventfd (iouring/ready.py), which the host names
`anon_inode:[eventfd]`.  So the host runs the call unchanged, and when it
returned an eventfd's name, the Sentry looks at which fd the path named and,
if that fd is one of its rings, gives the io_uring name instead -- truncated
to the caller's buffer as readlink truncates, with its length as the result.

Only processes that have a ring stop here (the second seccomp filter,
syscalls/waits.py); a process without one can still read another's ring fd
link through /proc/<pid>/fd and then sees the eventfd name (docs/io_uring.md).
Only the name is translated: /proc/<pid>/fdinfo still describes an eventfd.
"""
import os
import posixpath
import re

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.syscalls.numbers import signed_fd

_EVENTFD = b"anon_inode:[eventfd]"
_IO_URING = b"anon_inode:[io_uring]"
_AT_FDCWD = -100
# .../<pid>/fd/<n>, .../<pid>/task/<tid>/fd/<n>, self and thread-self
_FD_LINK = re.compile(r"/(self|thread-self|\d+)(?:/task/(\d+))?/fd/(\d+)$")



def sys_readlink(kernel, task, stop):
    """readlink(path, buf, size)"""
    return _readlink(kernel, task, stop, 0)


def sys_readlinkat(kernel, task, stop):
    """readlinkat(dirfd, path, buf, size)"""
    return _readlink(kernel, task, stop, 1)


def _readlink(kernel, task, stop, at):
    dirfd = signed_fd(stop.args[0]) if at else _AT_FDCWD
    path_addr, buf, size = stop.args[at:at + 3]
    res = yield InjectSyscall(stop.nr, *stop.args)
    size &= 0xFFFFFFFF
    if res <= 0 or size >= 1 << 31:
        return res
    # The full eventfd name, or readlink's truncation of it to the buffer.
    if res != len(_EVENTFD) and res != size:
        return res
    try:
        if task.mem.read(buf, res) != _EVENTFD[:res]:
            return res
        target = _fd_named(task, dirfd, task.mem.read_cstring(path_addr))
        if target is None or kernel.io_uring.find("/proc/%d/fdinfo/%d" % target) is None:
            return res
    except OSError:
        return res      # the fd went away meanwhile, or the path was unreadable
    name = _IO_URING[:size]
    task.mem.write(buf, name)
    return len(name)


def _fd_named(task, dirfd, path):
    """(pid, fd) of the /proc fd entry path names, or None.  The host has
    already resolved it to an eventfd's entry, so only the tail matters:
    which process and which fd.  A relative path is joined to the directory
    it was resolved from, read back from /proc as the host sees it."""
    path = os.fsdecode(path)
    if not path.startswith("/"):
        base = "/proc/%d/%s" % (task.tid, "cwd" if dirfd == _AT_FDCWD else "fd/%d" % dirfd)
        path = os.readlink(base) + "/" + path
    m = _FD_LINK.search(posixpath.normpath(path))
    if m is None:
        return None
    # The pid is the program's; the Sentry shares its pid namespace.
    who, tid, fd = m.groups()
    if tid is not None:
        pid = int(tid)
    elif who == "self":
        pid = task.tgid
    elif who == "thread-self":
        pid = task.tid
    else:
        pid = int(who)
    return pid, int(fd)
