"""The Sentry: ties the platform's stops to the syscall table, tasks, fds, VFS and io_uring."""
import errno
import os


from pysentry.platform import libc, seccomp
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall, PassThenCall, Tracer
from pysentry.sentry.fdtable import FDTable
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.iouring.registry import IoUringRegistry
from pysentry.sentry.poller import Poller
from pysentry.sentry.syscalls import table
from pysentry.sentry.task import Task
from pysentry.vfs.file import HostFileDescription
from pysentry.vfs.mount import MountTable
from pysentry.vfs.resolve import resolve

AT_FDCWD = -100


class Kernel:
    def __init__(self, trace_uring=None, trace_syscalls=None, mounts=None):
        self.tracer = Tracer(self)
        self.poller = Poller(self.tracer)
        self.io_uring = IoUringRegistry(self, trace_uring)
        self.mounts = mounts or MountTable()
        self.trace_syscalls = trace_syscalls
        self.stats = {}

    # --- running ---------------------------------------------------------------
    def run(self, path, argv, env):
        """Run the program to completion; return its wait status."""
        import resource
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)
        if limit[0] < limit[1]:
            # The Sentry holds one fd for each child fd it serves.
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit[1], limit[1]))
        filt = seccomp.build_filter(table.seccomp_spec())
        self.tracer.spawn(path, argv, env, filt,
                          child_setup=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit))
        return self.tracer.run()

    # --- tasks -------------------------------------------------------------------
    def create_task(self, tid, tgid, parent):
        if parent is None:
            fdtable = FDTable()
        elif tgid == parent.tgid or _shares_files(parent.tid, tid):
            fdtable = parent.fdtable
        else:
            fdtable = FDTable()
        fdtable.users += 1
        return Task(tid, tgid, fdtable)

    def _leave_fdtable(self, task):
        task.fdtable.users -= 1
        if task.fdtable.users == 0:
            task.fdtable.clear()

    def task_exit(self, task):
        self.io_uring.task_exit(task)
        self._leave_fdtable(task)
        task.release()

    def task_exec(self, task):
        self.io_uring.task_exec(task)
        # execve unshares the fd table and closes O_CLOEXEC fds: start a fresh
        # cache that refills as the new program uses its fds.
        self.unshare_fdtable(task)

    def unshare_fdtable(self, task):
        self._leave_fdtable(task)
        task.fdtable = FDTable()
        task.fdtable.users = 1

    # --- syscalls ------------------------------------------------------------------
    def syscall(self, task, stop):
        entry = table.lookup(stop.abi, stop.nr)
        if entry is None or entry.handler is None:
            return PASSTHROUGH     # e.g. a filter the child installed itself
        self.stats[entry.name] = self.stats.get(entry.name, 0) + 1
        if self.trace_syscalls is not None:
            self.trace_syscalls.write("[syscall] tid=%d %s%s %s\n" % (
                task.tid, entry.name, "" if stop.abi == "x86_64" else "/" + stop.abi,
                tuple(hex(a) for a in stop.args)))
        if task.task_work:
            return self._task_work_first(task, stop, entry)
        try:
            return entry.handler(self, task, stop)
        except OSError as e:
            return -e.errno

    def _task_work_first(self, task, stop, entry):
        """Run the io_uring task work queued for this thread, then serve the
        syscall it stopped in (re-issuing it if the handler passes it through,
        since the thread's registers were used for the work)."""
        yield from taskwork.run(self, task)
        try:
            outcome = entry.handler(self, task, stop)
        except OSError as e:
            return -e.errno
        if outcome is PASSTHROUGH:
            return (yield InjectSyscall(stop.nr, *stop.args))
        if isinstance(outcome, PassThenCall):
            res = yield InjectSyscall(stop.nr, *stop.args)
            outcome.callback()
            return res
        if isinstance(outcome, int):
            return outcome
        return (yield from outcome)

    # --- files -------------------------------------------------------------------------
    def lookup_file(self, task, fd):
        """The FileDescription behind the child's fd, with a reference taken."""
        if fd < 0:
            raise OSError(errno.EBADF, "bad fd")
        desc = task.fdtable.entries.get(fd)
        if desc is None:
            desc = self._take_over(task, fd)
            task.fdtable.entries[fd] = desc
        return desc.get()

    def _take_over(self, task, fd, path=None):
        try:
            hostfd = libc.pidfd_getfd(task.pidfd(), fd)
        except OSError as e:
            raise OSError(errno.EBADF if e.errno != errno.EMFILE else e.errno, "bad fd")
        st = os.fstat(hostfd)
        ring = self.io_uring.find((st.st_dev, st.st_ino))
        if ring is not None:
            os.close(hostfd)
            return self.io_uring.file_for(ring)
        return HostFileDescription(hostfd, path)

    def adopt_fd(self, task, fd, path):
        """The child just opened fd through the VFS: record its description."""
        try:
            task.fdtable.install(fd, self._take_over(task, fd, path))
        except OSError:
            task.fdtable.drop(fd)

    def install(self, task, fd, desc):
        task.fdtable.install(fd, desc)

    # --- VFS ---------------------------------------------------------------------------
    def task_root(self, task):
        """The child's root directory (chroot) as a host path; b"/" if none.
        Linux keeps it per fs_struct (shared by CLONE_FS, copied by fork,
        kept by exec), so the Sentry reads it, as it does the cwd."""
        return os.readlink("/proc/%d/root" % task.tid).encode()

    def vfs_resolve(self, task, dirfd, path, follow):
        cwd_host = os.readlink("/proc/%d/cwd" % task.tid).encode()
        cwd = self.mounts.guest_of_host(cwd_host) or cwd_host
        dirfd_path = None
        if not path.startswith(b"/") and dirfd != AT_FDCWD:
            try:
                host = os.readlink("/proc/%d/fd/%d" % (task.tid, dirfd)).encode()
            except OSError:
                raise OSError(errno.EBADF, "bad dirfd")
            if not host.startswith(b"/") or not os.path.isdir(host):
                raise OSError(errno.ENOTDIR, "dirfd is not a directory")
            dirfd_path = self.mounts.guest_of_host(host) or host
        root_host = self.task_root(task)
        root = b"/" if root_host == b"/" else (self.mounts.guest_of_host(root_host) or root_host)
        return resolve(self.mounts, path, cwd=cwd, dirfd_path=dirfd_path, follow_last=follow,
                       tgid=task.tgid, tid=task.tid, root=root)


def _shares_files(tid_a, tid_b):
    try:
        return libc.kcmp_files(tid_a, tid_b) == 0
    except OSError:
        return False
