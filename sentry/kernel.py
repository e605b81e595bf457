"""The Sentry: ties the platform's stops to the syscall table, tasks, fds, VFS and io_uring."""
import collections
import contextlib
import errno
import os


from pysentry.platform import libc, seccomp
from pysentry.platform.placement import Placement
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall, PassThenCall, Tracer
from pysentry.sentry import fdchannel, hostcaps
from pysentry.sentry.fdchannel import FdChannel, FdNotHeld
from pysentry.sentry.fdtable import FDTable
from pysentry.sentry.iouring import taskwork
from pysentry.sentry.iouring.file import IoUringFileDescription
from pysentry.sentry.iouring.registry import IoUringRegistry
from pysentry.sentry.poller import Poller
from pysentry.sentry.syscalls import numbers, table
from pysentry.sentry.task import Task
from pysentry.vfs.file import HostFileDescription
from pysentry.vfs.walk import RESOLVE_BENEATH, RESOLVE_IN_ROOT, Walker
from pysentry.sentry.uapi import AT_FDCWD, O_PATH_CLOEXEC

_SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT


class Kernel:
    def __init__(self, trace_uring=None, trace_syscalls=None, cpu_policy="auto", injector=None):
        self.tracer = Tracer(self, Placement(cpu_policy))
        self.injector = injector      # --inject rules (iouring/inject.py), or None
        self.poller = Poller(self.tracer)
        self.io_uring = IoUringRegistry(self, trace_uring)
        self.trace_syscalls = trace_syscalls
        self.stats = collections.defaultdict(int)
        self._fd_channel = None
        self.waits_traced = set()     # processes whose fd waits stop (syscalls/waits.py)
        self.host = hostcaps.HostCaps()
        self.can_getfd = self.host.has("pidfd_getfd")

    @property
    def fd_channel(self):
        """The Unix socket that carries files to and from the child (fdchannel.py)."""
        if self._fd_channel is None:
            self._fd_channel = FdChannel()
        return self._fd_channel

    # --- running ---------------------------------------------------------------
    def run(self, path, argv, env):
        """Run the program to completion; return its wait status."""
        import resource
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)
        if limit[0] < limit[1]:
            # The Sentry holds one fd for each child fd it serves.
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit[1], limit[1]))
        filt = seccomp.build_filter(table.seccomp_spec(sigsys=self.host.sigsys,
                                                       affinity=self.tracer.placement.active))
        self._enable_trap_step()
        self.tracer.spawn(path, argv, env, filt,
                          child_setup=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit))
        # Once the child is seized (which, without CAP_SYS_PTRACE, needs it
        # dumpable: it is forked from us), make the Sentry non-dumpable: its
        # /proc entries become root's and ptrace-protected, so a program that
        # drops privileges cannot open them (docs/security.md).
        libc.lib.prctl(libc.PR_SET_DUMPABLE, 0, 0, 0, 0)
        return self.tracer.run()

    def _enable_trap_step(self):
        """The tracer's C trap step does what file_io.py does for read/
        write/pread64/pwrite64 on a held file but a ring -- pass them to
        the host (or, with PYSENTRY_SERVE_FILES=1, serve a regular file's
        pread64/pwrite64 by its short path) --, and serves io_uring_enter
        where the data plane takes every SQE and no wait is needed
        (dataplane.enter_sync), without a return to Python.  Not with --trace-syscalls, which prints every
        call; --inject rules only concern io_uring requests."""
        if self.trace_syscalls is not None:
            return
        from pysentry import native
        from pysentry.sentry.iouring import dataplane
        from pysentry.vfs import file as vfs_file
        from pysentry.sentry.syscalls import file_io
        if native.lib is None:
            return
        stats = self.stats
        names = table.TABLES["x86_64"]

        def counted(counts, enter_reqs):
            for nr, n in counts.items():
                stats[names[nr].name] += n
            # io_uring_enter in C (dataplane.c ps_dp_enter): its requests are
            # the data plane's, and a --stats trace counts the calls.
            dataplane.STATS["enter"] += enter_reqs
            enters = counts.get(numbers.IO_URING_ENTER, 0)
            dataplane.ENTER_STATS["calls"] += enters
            trace = self.io_uring.trace
            if enters and trace is not None and trace.stats is not None:
                trace.stats.enters += enters

        self.tracer.enable_trap_step(
            vfs_file._BOUNCE, lambda task: dataplane.fdmap(task.fdtable),
            # file_io._serve: a write to a stream needs its exit stop only
            # while a DEFER_TASKRUN ring exists and something waits.
            lambda: not ((self.io_uring.defer_rings or file_io.WAKE_IN_WRITE)
                         and self.poller.busy()),
            counted)

    # --- tasks -------------------------------------------------------------------
    def create_task(self, tid, tgid, parent):
        if parent is None:
            fdtable = FDTable()
        elif tgid == parent.tgid or _shares_files(parent.tid, tid):
            fdtable = parent.fdtable
        else:
            fdtable = FDTable()
        fdtable.users += 1
        if parent is not None and parent.tgid in self.waits_traced:
            self.waits_traced.add(tgid)       # seccomp filters are inherited
        return Task(tid, tgid, fdtable)

    def _leave_fdtable(self, task):
        task.fdtable.users -= 1
        if task.fdtable.users == 0:
            task.fdtable.clear()

    def task_exiting(self, task):
        """task is in do_exit (PTRACE_EVENT_EXIT); task_exit follows."""
        self.io_uring.task_exiting(task)

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
        self.io_uring.fdtable_changed(task)

    # --- syscalls ------------------------------------------------------------------
    def syscall(self, task, stop):
        # Every trapped syscall comes through here: kept lean (no helper calls).
        entry = table.TABLES[stop.abi].get(stop.nr)
        if entry is None or entry.handler is None:
            return PASSTHROUGH     # e.g. a filter the child installed itself
        self.stats[entry.name] += 1
        if self.trace_syscalls is not None:
            self.trace_syscalls.write("[syscall] tid=%d %s%s %s\n" % (
                task.tid, entry.name, "" if stop.abi == "x86_64" else "/" + stop.abi,
                tuple(hex(a) for a in stop.args)))
        if task.task_work:
            return self._serve_after(task, stop, entry, work=True)
        try:
            return entry.handler(self, task, stop)
        except OSError as e:
            return -e.errno
        except FdNotHeld as e:
            return self._serve_after(task, stop, entry, need=e.fds)

    def _serve_after(self, task, stop, entry, work=False, need=None):
        """Generator: first run the io_uring task work queued for this thread
        and take over the fds the handler asked for, then serve the syscall
        (re-issuing it if the handler passes it through, since the thread's
        registers were used in between)."""
        if work:
            yield from taskwork.run(self, task)
        while True:
            if need:
                res = yield from self.take_fds(task, need)
                if res < 0:
                    return res
            try:
                outcome = entry.handler(self, task, stop)
                break
            except OSError as e:
                return -e.errno
            except FdNotHeld as e:
                need = e.fds
        if outcome is PASSTHROUGH:
            return (yield InjectSyscall(stop.nr, *stop.args))
        if isinstance(outcome, PassThenCall):
            res = yield InjectSyscall(stop.nr, *stop.args)
            outcome.callback()
            return res
        if isinstance(outcome, int):
            return outcome
        return (yield from outcome)

    # --- work that needs a stopped thread -------------------------------------
    def work_pending(self, task):
        return bool(task.task_work)

    def run_work(self, task):
        """Generator: the thread's queued io_uring task work (at an interrupt)."""
        yield from taskwork.run(self, task)

    # --- files -------------------------------------------------------------------------
    def lookup_file(self, task, fd):
        """The FileDescription behind the child's fd, with a reference taken.

        The Sentry holds its own fd on the child's open file description,
        taken over the first time it is needed: with pidfd_getfd(2), or
        where the host refuses that (a default container), by SCM_RIGHTS
        from the child -- which needs a stopped thread, so FdNotHeld tells
        the caller to run take_fds() there first."""
        if fd < 0:
            raise OSError(errno.EBADF, "bad fd")
        desc = task.fdtable.entries.get(fd)
        if desc is None:
            desc = self._take_over(task, fd)
            task.fdtable.install(fd, desc, taken_over=True)
        return desc.get()

    def _take_over(self, task, fd):
        if self.can_getfd:
            try:
                hostfd = libc.pidfd_getfd(task.pidfd(), fd)
            except OSError as e:
                raise OSError(errno.EBADF if e.errno != errno.EMFILE else e.errno, "bad fd")
            return self.describe(hostfd)
        ring = self._ring_by_proc(task, fd)
        if not ring:
            raise FdNotHeld([fd])
        return self.io_uring.file_for(ring)

    def _ring_by_proc(self, task, fd):
        """The ring behind the child's fd, told from its /proc entry without
        taking it over: a Ring, False if it is none, None if the entry
        cannot be read (a program that dropped its privileges); EBADF if
        the fd is not open."""
        try:
            return self.io_uring.find("/proc/%d/fdinfo/%d" % (task.tid, fd)) or False
        except FileNotFoundError:
            raise OSError(errno.EBADF, "bad fd") from None
        except OSError:
            return None

    def describe(self, hostfd):
        """The FileDescription for a host fd the Sentry now owns."""
        ring = self.io_uring.find("/proc/self/fdinfo/%d" % hostfd)
        if ring is not None:
            os.close(hostfd)
            return self.io_uring.file_for(ring)
        return HostFileDescription(hostfd)

    def ring_of(self, task, fd):
        """The ring behind the child's fd, or None; EBADF if fd is not open.
        Without pidfd_getfd, a fd that is no ring is not taken over for it."""
        if fd < 0:
            raise OSError(errno.EBADF, "bad fd")
        if fd not in task.fdtable.entries and not self.can_getfd:
            ring = self._ring_by_proc(task, fd)
            if ring is False:
                return None
            if ring is None:
                raise FdNotHeld([fd])     # cannot tell from /proc: take it
            task.fdtable.install(fd, self.io_uring.file_for(ring), taken_over=True)
            return ring
        desc = self.lookup_file(task, fd)
        desc.put()
        return desc.ring if isinstance(desc, IoUringFileDescription) else None

    def require_held(self, task, fds):
        """Raise FdNotHeld for those of fds the Sentry would have to take over
        by injection, before an operation starts changing anything."""
        if self.can_getfd:
            return
        entries = task.fdtable.entries
        missing = []
        for fd in fds:
            if fd >= 0 and fd not in entries:
                try:
                    ring = self._ring_by_proc(task, fd)
                except OSError:
                    continue          # not open: the operation fails with EBADF itself
                if ring:
                    task.fdtable.install(fd, self.io_uring.file_for(ring), taken_over=True)
                else:
                    missing.append(fd)
        if missing:
            raise FdNotHeld(missing)

    def take_fds(self, task, fds):
        """Generator (task stopped in the Sentry): put the child's fds in the
        fd cache, by pidfd_getfd or else by SCM_RIGHTS; 0, or -errno (-EBADF:
        one is not open)."""
        fds = [fd for fd in dict.fromkeys(fds) if fd not in task.fdtable.entries]
        if not fds:
            return 0
        if self.can_getfd:
            for fd in fds:
                try:
                    self.lookup_file(task, fd).put()
                except OSError as e:
                    return -e.errno
            return 0
        got = yield from fdchannel.take(self, task, fds)
        if got == -errno.EBADF and len(fds) > 1:
            # One of them is not open: take the others one by one.
            for fd in fds:
                yield from self.take_fds(task, [fd])
            return -errno.EBADF if any(fd not in task.fdtable.entries for fd in fds) else 0
        if isinstance(got, int):
            if got not in (-errno.EBADF, -errno.EMFILE):
                hostcaps.refused("an SCM_RIGHTS transfer from the program", -got)
            return got
        for fd, hostfd in zip(fds, got):
            if fd in task.fdtable.entries:
                os.close(hostfd)
            else:
                task.fdtable.install(fd, self.describe(hostfd), taken_over=True)
        return 0

    def install(self, task, fd, desc):
        task.fdtable.install(fd, desc)

    # --- VFS ---------------------------------------------------------------------------
    def walker(self, task, dirfd, path, *, resolve=0, acting=None):
        """A vfs.walk.Walker for a lookup the Sentry makes for task: rooted
        at the task's root, starting at dirfd (or its cwd) for a relative or
        scoped path.  `acting` is the creds.acting_as() the walk runs in; the
        task's own /proc entries are opened outside it (see vfs/walk.py)."""
        as_sentry = acting.paused if acting is not None and acting.caps is not None else None
        paused = as_sentry or _nothing
        owns, held = [], None
        try:
            with paused():
                root = os.open("/proc/%d/root" % task.tid, O_PATH_CLOEXEC)
                owns.append(root)
                if dirfd == AT_FDCWD or (path.startswith(b"/") and not resolve & _SCOPED):
                    # An absolute path ignores dirfd (path_init()); the cwd
                    # is opened only when a relative walk starts there.
                    start = os.open("/proc/%d/cwd" % task.tid, O_PATH_CLOEXEC)
                    owns.append(start)
                else:
                    held = self.lookup_file(task, dirfd)       # EBADF
                    start = getattr(held, "fd", None)
                    if start is None or start < 0:
                        # A file the Sentry serves itself (a ring) is no
                        # directory: Linux's path_init() gives ENOTDIR.
                        raise OSError(errno.ENOTDIR, "dirfd is not a directory")
            w = Walker(root, start, tgid=task.tgid, tid=task.tid, resolve=resolve,
                       own_pid=lambda pid: self._same_thread_group(task, pid),
                       as_sentry=as_sentry, owns=owns, hold=held)
        except BaseException:
            for fd in owns:
                os.close(fd)
            if held is not None:
                held.put()
            raise
        return w

    def _same_thread_group(self, task, pid):
        other = self.tracer.tasks.get(pid)
        return other is not None and other.tgid == task.tgid


@contextlib.contextmanager
def _nothing():
    yield


def _shares_files(tid_a, tid_b):
    try:
        return libc.kcmp_files(tid_a, tid_b) == 0
    except OSError:
        return False
