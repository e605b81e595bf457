"""Closing and duplicating fds; mmap of io_uring rings.

open(2), openat(2), creat(2) and chroot(2) are not trapped: the host walks the
program's paths itself, inside its root and with its credentials, exactly as
Linux does, and the Sentry takes over a new fd's open file description the
first time it needs it (Kernel.lookup_file).  Paths the Sentry resolves for
the program (io_uring path ops) go through vfs/walk.py.

close/close_range/dup/dup2/dup3/fcntl(F_DUPFD*) only update the Sentry's fd
cache around the host doing the real work.  A dup shares the cached
description, so an io_uring stays alive while any of its fds is open (Linux
frees a ring on the last close of its file, not of one fd).
"""
import errno

from pysentry.platform.task import ABI_I386
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall, PassThenCall
from pysentry.sentry import fdchannel
from pysentry.sentry.syscalls import numbers

CLOSE_RANGE_UNSHARE = 1 << 1
CLOSE_RANGE_CLOEXEC = 1 << 2


def sys_close(kernel, task, stop):
    # Dropped before the host closes the fd, and at the call's exit what was
    # taken over from it in between: another thread's stop served before the
    # host close ran may take the still-open fd over again, and that entry
    # would outlive the fd.  Only a take-over goes at the exit: once the
    # host closed the number, another thread's setup may already have put
    # its new ring there (dropping that destroyed the ring: EOPNOTSUPP from
    # its io_uring_enter, tests/c/load.c).  The exit stop comes before this
    # thread returns to the program, so nothing it does after close() meets
    # the old entry.
    fd = numbers.signed_fd(stop.args[0])
    fdtable = task.fdtable
    fdtable.drop(fd)
    mark = fdtable.installs
    return PassThenCall(lambda: fdtable.drop_taken_since(fd, fd, mark))


def sys_close_range(kernel, task, stop):
    first, last, flags = (a & 0xFFFFFFFF for a in stop.args[:3])
    if flags & CLOSE_RANGE_UNSHARE:
        kernel.unshare_fdtable(task)
    if not flags & CLOSE_RANGE_CLOEXEC and first <= last:
        fdtable = task.fdtable
        fdtable.drop_range(first, last)
        # As close(): at the exit, what was taken over meanwhile.
        mark = fdtable.installs
        return PassThenCall(lambda: fdtable.drop_taken_since(first, last, mark))
    return PASSTHROUGH


F_DUPFD = 0
F_DUPFD_CLOEXEC = 1030


def _share_entry(task, old, new):
    desc = task.fdtable.entries.get(old)
    if desc is not None:
        task.fdtable.install(new, desc.get())


def _dup_then_share(task, stop, old):
    new = yield InjectSyscall(stop.nr, *stop.args)
    if new >= 0:
        _share_entry(task, old, new)
    return new


def sys_dup(kernel, task, stop):
    return _dup_then_share(task, stop, numbers.signed_fd(stop.args[0]))


def sys_dup2(kernel, task, stop):
    old, new = numbers.signed_fd(stop.args[0]), numbers.signed_fd(stop.args[1])
    if old == new:
        return PASSTHROUGH
    task.fdtable.drop(new)
    return _dup_then_share(task, stop, old)


sys_dup3 = sys_dup2


def sys_fcntl_dupfd(kernel, task, stop):
    """fcntl stops here only for F_DUPFD/F_DUPFD_CLOEXEC (see table._ARG_TRACES)."""
    if stop.args[1] & 0xFFFFFFFF not in (F_DUPFD, F_DUPFD_CLOEXEC):
        return PASSTHROUGH
    return sys_dup(kernel, task, stop)


def _ring_of(kernel, task, fd):
    try:
        return kernel.ring_of(task, fd)
    except OSError:
        return None


def _mmap_ring(kernel, task, stop, nr, args, offset, page_units):
    """mmap of the ring fd at IORING_OFF_*: the regions of the ring's shared
    memory.  The program's ring fd is an eventfd (iouring/ready.py), so the
    mapping is made of a temporary fd on the ring's memory file, given by
    SCM_RIGHTS and closed again; any other mmap passes through."""
    ring = _ring_of(kernel, task, numbers.signed_fd(args[4]))
    if ring is None:
        return PASSTHROUGH
    target = ring.mmap_target(offset, args[1])
    if target is None:
        return -errno.EINVAL
    if isinstance(target, int):
        return target               # another error (ENOMEM: no such buffer ring)
    region_fd, target = target

    def inject():
        tmp = yield from fdchannel.install(kernel, task, region_fd, True)
        if tmp < 0:
            return tmp
        res = yield InjectSyscall(nr, *args[:4], tmp, target // 4096 if page_units else target)
        # Forget tmp while the number is still ours: once it is closed,
        # another thread may get the same number for its new ring and have
        # it installed before we run again, and dropping it then put that
        # ring's last reference (the ring was destroyed under the thread
        # that had just made it: EOPNOTSUPP from its io_uring_enter).
        task.fdtable.drop(tmp)
        yield InjectSyscall(numbers.close(task.stop_abi), tmp)
        return res
    return inject()


def sys_mmap(kernel, task, stop):
    if stop.abi == ABI_I386:
        if stop.nr == numbers.I386_MMAP2:
            return _mmap_ring(kernel, task, stop, stop.nr, stop.args, stop.args[5] * 4096, True)
        # old_mmap(struct mmap_arg_struct *): six 32-bit words.
        raw = task.mem.read(stop.args[0], 24)
        args = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 24, 4)]
        if args[3] & 0x20:        # MAP_ANONYMOUS
            return PASSTHROUGH
        return _mmap_ring(kernel, task, stop, numbers.I386_MMAP2, args, args[5], True)
    return _mmap_ring(kernel, task, stop, stop.nr, stop.args, stop.args[5], False)
