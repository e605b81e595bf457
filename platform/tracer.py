"""The trap loop: starts the child under ptrace and dispatches every stop.

Design:
  * The child is PTRACE_SEIZEd before it installs the seccomp filter and execs,
    with EXITKILL (it dies with the Sentry) and TRACECLONE/FORK/VFORK/EXEC so
    every thread and process it creates is traced too; TRACEEXIT stops a
    thread at the start of its exit, while its process's work can still move
    to a sibling before anyone can see it gone.
  * Syscalls stop only when the seccomp filter says SECCOMP_RET_TRACE.  The
    kernel (pysentry.sentry) answers each with a result, PASSTHROUGH, or a
    coroutine that may inject syscalls into the child: the first injection
    replaces the trapped syscall, later ones rewind the instruction pointer and
    run the syscall instruction again, and the last step restores every
    register but the return value, so the child sees one ordinary syscall.
  * Besides ptrace stops the loop waits on file descriptors (io_uring ops that
    wait for readiness) and timers, through epoll plus a signalfd for SIGCHLD.
  * A task blocked on behalf of the Sentry sleeps in a host syscall (ppoll);
    PTRACE_INTERRUPT wakes it, and a signal sent to it interrupts it exactly as
    it would interrupt a Linux syscall.
"""
import errno
import heapq
import itertools
import os
import selectors
import signal
import struct
import time

from pysentry import native
from pysentry.platform import libc
from pysentry.platform.placement import Placement
from pysentry.platform.seccomp import SIGSYS_DATA
from pysentry.platform.task import ABI_X86_64, PtraceTask, SigsysStop, seccomp_stop

PASSTHROUGH = object()
_WAIT_OUT = struct.Struct("<12Q")     # native/trap.c ps_wait_stop's out[]


class PassThenCall:
    """A handler's outcome: let the host run the syscall as it is (no register
    rewrite, unlike InjectSyscall), and call callback() at its exit stop,
    before the child goes on.  Four ptrace calls instead of seven."""

    __slots__ = ("callback",)

    def __init__(self, callback):
        self.callback = callback

_OPTIONS = (libc.PTRACE_O_TRACESYSGOOD | libc.PTRACE_O_TRACEFORK | libc.PTRACE_O_TRACEVFORK
            | libc.PTRACE_O_TRACECLONE | libc.PTRACE_O_TRACEEXEC | libc.PTRACE_O_TRACESECCOMP
            | libc.PTRACE_O_TRACEEXIT | libc.PTRACE_O_EXITKILL)
_STOP_SIGNALS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)
_SYSCALL_TRAP = signal.SIGTRAP | 0x80
_U64 = (1 << 64) - 1
_ERESTARTNOHAND = 514
_ERESTART_RESTARTBLOCK = 516
# ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK, EINTR
_RESTART_CODES = (512, 513, _ERESTARTNOHAND, _ERESTART_RESTARTBLOCK, errno.EINTR)
_RESTART_SYSCALL = {"x86_64": 219, "x32": 219 | libc.X32_SYSCALL_BIT, "i386": 0}


class InjectSyscall:
    """Yielded by a handler coroutine: run this syscall in the child, send back rval.

    wait=True marks a blocking wait the Sentry may cut short with wake(): if
    the wake-up comes before the child has entered the call (it was resumed
    but had not run the syscall instruction yet), the call is skipped at its
    entry and returns -ERESTARTNOHAND, so no wake-up is ever lost."""

    __slots__ = ("nr", "args", "wait")

    def __init__(self, nr, *args, wait=False):
        self.nr = nr
        self.args = args
        self.wait = wait


class Timer:
    __slots__ = ("when", "callback", "cancelled", "owner")

    def __init__(self, when, callback, owner):
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.owner = owner

    def cancel(self):
        """Never fire.  The entry leaves the heap lazily, but the heap is
        compacted once cancelled entries are the majority, so a program that
        cancels timers forever (a LINK_TIMEOUT per request) keeps it small."""
        if not self.cancelled:
            self.cancelled = True
            self.callback = None
            self.owner._timer_cancelled()


class Tracer:
    def __init__(self, kernel, placement=None):
        self.kernel = kernel
        self.tasks = {}
        # Where the trap loop and the program's threads run (placement.py).
        self.placement = placement if placement is not None else Placement("none")
        # The C trap path (native/trap.c): waitpid with the syscall info of a
        # seccomp stop in one call, and a result and resume in another.
        # Without a C compiler, or with PYSENTRY_PY_TRAP=1 (tests), Python's.
        self._native = native.lib if os.environ.get("PYSENTRY_PY_TRAP") != "1" else None
        if self._native is not None:
            self._out = bytearray(_WAIT_OUT.size)
            self._out_ptr = native.ffi.from_buffer("uint64_t[]", self._out)
        # The trap step (native/trap.c ps_trap_loop): the hottest stops served
        # in C without coming back here; enable_trap_step() turns it on.
        self._trap = None
        self._trap_arr = None
        self._trap_fdmap = None      # task -> its fd table's C map
        self._pass_writes = None     # () -> may writes to streams simply continue?
        self._trap_counted = None    # ({nr: count}) -> None, for --stats
        self.root_pid = None
        self.root_status = None
        # False: the sandbox ends with its first process (a container's
        # lifetime).  True: processes it left behind are served until they
        # exit too, as a shell's pipe reader waits for every writer.
        self.wait_all = False
        self._early_stops = {}       # tid -> status, for threads seen before their parent's event
        self.on_root_exit = None     # called when the root process's exit is seen (live.py)
        self._dispatching = None     # the task whose stop is being handled now
        self._selector = selectors.EpollSelector()
        self._timers = []
        self._cancelled_timers = 0    # cancelled entries still in the heap
        self._timer_seq = itertools.count()
        self._readers = 0
        self._persistent = set()     # fds whose reader survives its callback
        # tests/test_faults.py only: [syscall number, countdown] (_test_kill).
        hook = os.environ.get("PYSENTRY_TEST_KILL_AT_INJECT")
        self._kill_at = None
        if hook:
            nr, _, nth = hook.partition(":")
            self._kill_at = [int(nr), int(nth or 1)]
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        self._sigchld_fd = libc.signalfd_for([signal.SIGCHLD])
        self._selector.register(self._sigchld_fd, selectors.EVENT_READ, None)

    # --- the trap step in C ------------------------------------------------------
    def enable_trap_step(self, bounce, fdmap, pass_writes, counted):
        """Pass read/write/pread64/pwrite64 that the host runs unchanged
        (and, with PYSENTRY_SERVE_FILES=1, serve pread64/pwrite64 on held
        regular files) in C (native/trap.c's ps_trap_loop) until a stop
        that needs Python.  bounce: the Sentry
        thread's bounce buffer; fdmap(task): the C map of the task's fd
        table (with its trap kinds); pass_writes(): whether a write to a
        stream needs nothing at its exit right now; counted({nr: n}, reqs):
        the calls served in C and the io_uring requests C submitted in
        io_uring_enter calls, for --stats.  Off without the C extension and
        with PYSENTRY_TRAP_STEP=0 (the Python dispatch of every stop, kept
        to compare and to test both)."""
        if (self._native is None or bounce is None
                or os.environ.get("PYSENTRY_TRAP_STEP", "1") == "0"):
            return
        self._trap = native.ffi.new("struct ps_trap *")
        self._trap.bounce = bounce
        self._trap_bounce = bounce          # kept alive with the struct
        self._trap_fdmap = fdmap
        self._pass_writes = pass_writes
        self._trap_counted = counted
        for task in self.tasks.values():
            self._trap_add(task)

    def _trap_add(self, task):
        if self._trap is None:
            return
        lib = self._native
        task.ctrap = native.ffi.gc(lib.ps_ttask_new(task.tid), lib.ps_ttask_free)
        task.ctrap_map = None
        self._trap_tasks()
        self._trap_sync(task)

    def _trap_remove(self, task):
        t = getattr(task, "ctrap", None)
        if t is not None:
            t.enabled = 0
            self._trap_tasks()

    def _trap_tasks(self):
        ts = [t.ctrap for t in self.tasks.values()
              if t.alive and getattr(t, "ctrap", None) is not None]
        self._trap_arr = native.ffi.new("struct ps_ttask *[]", ts)
        self._native.ps_trap_set_tasks(self._trap, self._trap_arr, len(ts))

    def _trap_sync(self, task):
        """After Python handled a stop of task: may C serve its next ones?
        Not while an injection is under way (its calls pass the filter and
        stop), nor with io_uring task work queued (kernel.syscall runs it
        before the call).  Its fd table may have changed (exec, unshare)."""
        t = task.ctrap
        if t is None:
            return
        m = self._trap_fdmap(task)
        if m is not task.ctrap_map:
            self._native.ps_ttask_set_fdmap(t, m)
            task.ctrap_map = m
        t.enabled = task.alive and task.coro is None and not self.kernel.work_pending(task)
        # What C submitted of an io_uring_enter it handed on was for that
        # stop's handler only (enter.py took it, or the stop went elsewhere).
        t.cont[0] = 0

    @staticmethod
    def _trap_disable(task):
        t = task.ctrap
        if t is not None:
            t.enabled = 0

    def _trap_fold(self):
        """Hand the per-syscall counts of the calls C served to --stats."""
        trap = self._trap
        if trap is None:
            return
        counts = {nr: trap.counts[i] for i, nr in enumerate((0, 1, 17, 18))
                  if trap.counts[i]}
        for i in range(4):
            trap.counts[i] = 0
        if trap.enters:
            counts[426] = trap.enters           # io_uring_enter served whole in C
        reqs = trap.enter_reqs                  # requests C submitted in them
        trap.enters = trap.enter_reqs = 0
        if counts or reqs:
            self._trap_counted(counts, reqs)

    # --- event sources -------------------------------------------------------
    def add_reader(self, fd, events, callback, persistent=False):
        """Call callback() once fd is ready for `events` (selectors mask); a
        persistent reader is called every time until removed."""
        self._selector.register(fd, events, callback)
        self._readers += 1
        if persistent:
            self._persistent.add(fd)

    def remove_reader(self, fd):
        self._persistent.discard(fd)
        try:
            self._selector.unregister(fd)
            self._readers -= 1
        except (KeyError, ValueError):
            pass

    def _fire(self, key):
        if key.fd not in self._persistent:
            self.remove_reader(key.fd)
        key.data()

    def run_ready(self):
        """Run the callbacks of watched fds that are ready right now, without
        waiting: after the child's write the Sentry's waiters on that file
        see it at once, as Linux's wakeups run inside write(2) itself."""
        if self._readers == 0:
            return
        for key, _ in self._selector.select(0):
            if key.data is not None:
                self._fire(key)

    def call_at(self, when, callback):
        t = Timer(when, callback, self)
        heapq.heappush(self._timers, (when, next(self._timer_seq), t))
        return t

    def _timer_cancelled(self):
        self._cancelled_timers += 1
        if self._cancelled_timers > 64 and self._cancelled_timers * 2 > len(self._timers):
            self._timers = [e for e in self._timers if not e[2].cancelled]
            heapq.heapify(self._timers)
            self._cancelled_timers = 0

    # --- start ----------------------------------------------------------------
    def spawn(self, path, argv, env, filter_bytes, child_setup=None):
        """Fork the child, seize it, let it install the filter and exec `path`.

        child_setup, if given, runs in the child just before the filter goes in.
        """
        from pysentry.platform import seccomp
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:   # child
            try:
                os.close(w)
                libc.lib.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                os.read(r, 1)            # wait until seized
                os.close(r)
                for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, set())
                if child_setup is not None:
                    child_setup()
                seccomp.install(filter_bytes)
                os.execve(path, argv, env)
            except BaseException as e:   # noqa: BLE001 - nothing may escape a forked child
                try:
                    os.write(2, ("pysentry: cannot run %s: %s\n" % (path, e)).encode())
                finally:
                    os._exit(127)
        os.close(r)
        libc.ptrace(libc.PTRACE_SEIZE, pid, libc.ffi.NULL, libc.ffi.cast("void *", _OPTIONS))
        self.root_pid = pid
        task = self.kernel.create_task(pid, pid, None)
        self.tasks[pid] = task
        self._trap_add(task)
        self.placement.start(task)
        os.write(w, b"g")
        os.close(w)
        return pid

    # --- main loop ---------------------------------------------------------------
    def run(self):
        """Serve the child until the root process exits (with wait_all, until
        every process has); return the root's wait status."""
        try:
            return self._run()
        finally:
            self._trap_fold()
            self.placement.stop()

    def _run(self):
        while self.root_status is None or self.tasks:
            if self.root_status is not None and not self.wait_all:
                self._kill_all()
            if self._timers:
                self._run_timers()
            if self._readers == 0 and not self._timers:
                # Nothing but ptrace stops to wait for: one blocking waitpid.
                self._reap_one(0)
                continue
            if self._reap_one(os.WNOHANG):
                continue
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    try:
                        os.read(self._sigchld_fd, 4096)
                    except BlockingIOError:
                        pass
                else:
                    self._fire(key)
        return self.root_status

    def _run_timers(self):
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, t = heapq.heappop(self._timers)
            if t.cancelled:
                self._cancelled_timers -= 1
                continue
            callback, t.callback = t.callback, None
            t.cancelled = True           # fired: a later cancel() is a no-op
            callback()

    def _reap_one(self, flags):
        """Handle one ptrace event; return False if none was waiting (WNOHANG)."""
        lib = self._native
        if lib is not None:
            trap = self._trap
            if trap is not None:
                trap.pass_writes = self._pass_writes()
                # Timers are Python's: C comes back once the first is due.
                deadline = int(self._timers[0][0] * 1e9) if self._timers else 0
                pid = lib.ps_trap_loop(trap, flags, deadline, self._out_ptr)
            else:
                pid = lib.ps_wait_stop(flags, self._out_ptr)
            if pid <= 0:
                if pid == -errno.ECHILD:
                    self.tasks.clear()
                elif pid < 0 and pid != -errno.EINTR:   # EINTR: the loop comes back
                    raise OSError(-pid, os.strerror(-pid))
                return False
            out = _WAIT_OUT.unpack_from(self._out)
            if out[1]:
                task = self.tasks.get(pid)
                if task is not None and task.coro is None:
                    # The commonest stop, straight to its handler: a trapped
                    # syscall, read by ps_wait_stop already.
                    task.stops += 1
                    self._dispatching = task     # kick() must not interrupt it now
                    try:
                        self._on_seccomp(task, seccomp_stop(out[2], out[3], out[4:10],
                                                            out[10], out[11]))
                    except ProcessLookupError:
                        pass     # killed under us; its exit is reported next
                    except OSError as e:
                        if e.errno != errno.ESRCH:
                            raise
                    finally:
                        self._dispatching = None
                        if trap is not None:
                            self._trap_sync(task)
                    return True
            self._dispatch(pid, out[0])
            if trap is not None:
                task = self.tasks.get(pid)
                if task is not None:
                    self._trap_sync(task)
            return True
        while True:
            try:
                pid, status = os.waitpid(-1, flags | libc.WALL)
            except ChildProcessError:
                self.tasks.clear()
                return False
            except InterruptedError:
                continue
            if pid == 0:
                return False
            self._dispatch(pid, status)
            return True

    def _kill_all(self):
        for tid in list(self.tasks):
            try:
                os.kill(tid, signal.SIGKILL)
            except ProcessLookupError:
                self._forget(tid)

    def _forget(self, tid):
        task = self.tasks.pop(tid, None)
        if task is not None and task.alive:
            self._task_gone(task)

    def _task_gone(self, task):
        task.alive = False
        _abandon(task)
        self._trap_remove(task)
        self.placement.task_gone(task)
        self.kernel.task_exit(task)

    # --- stop dispatch -------------------------------------------------------------
    def _dispatch(self, pid, status):
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            if pid == self.root_pid:
                self.root_status = status
                if self.on_root_exit is not None:
                    self.on_root_exit()
            self._forget(pid)
            return
        task = self.tasks.get(pid)
        if task is None:
            if status >> 16 == libc.PTRACE_EVENT_EXIT:
                # A thread dying before the Sentry heard of it: its parent
                # was killed before reporting the clone (a SIGKILLed program
                # making threads).  Let it go on exiting; a stop kept here
                # would never be resumed, and its process's zombie leader,
                # and the Sentry waiting for it, would wait forever.
                self._early_stops.pop(pid, None)
                try:
                    libc.ptrace(libc.PTRACE_CONT, pid)
                except OSError:
                    pass
                return
            self._early_stops[pid] = status   # its parent's clone event is still queued
            return
        self._dispatching = task
        try:
            self._on_stop(task, status)
        except ProcessLookupError:
            pass    # killed under us (SIGKILL from elsewhere); its exit is reported next
        except OSError as e:
            if e.errno != errno.ESRCH:
                raise
        finally:
            self._dispatching = None

    def _on_stop(self, task, status):
        task.regs_valid = False
        task.stops += 1
        sig = os.WSTOPSIG(status)
        event = status >> 16
        if event == libc.PTRACE_EVENT_SECCOMP:
            if task.coro is not None:
                task.resume()            # our own injected syscall passing the filter
            else:
                self._on_syscall(task)
        elif sig == _SYSCALL_TRAP:
            self._on_syscall_stop(task)
        elif event in (libc.PTRACE_EVENT_CLONE, libc.PTRACE_EVENT_FORK, libc.PTRACE_EVENT_VFORK):
            self._on_new_task(task, task.event_msg(), event)
            task.resume()
        elif event == libc.PTRACE_EVENT_EXEC:
            former = task.event_msg()
            if former != task.tid:
                # A non-leader thread exec'd and took over the leader's tid.
                old = self.tasks.pop(former, None)
                if old is not None:
                    self._task_gone(old)
            self.kernel.task_exec(task)
            task.resume()
        elif event == libc.PTRACE_EVENT_EXIT:
            # The thread is in do_exit, before its mm and files go and before
            # its clear_child_tid wake-up lets pthread_join return: what it
            # owns for its process (requests, an SQPOLL ring's submissions)
            # moves to a live sibling now.  Its exit status is reaped later;
            # by then a joiner may already be using the ring, and SQEs
            # charged to a thread with no mm or files fail (ESRCH, EBADF).
            # (A SIGKILLed thread stops here too: get_signal has dequeued
            # the SIGKILL by then.)  _forget finishes the job at the reap.
            task.exiting = True
            self.kernel.task_exiting(task)
            task.resume()
        elif event == libc.PTRACE_EVENT_STOP:
            if sig in _STOP_SIGNALS:
                task.listen()             # group-stop: stay stopped until SIGCONT
            elif task.coro is None and self.kernel.work_pending(task):
                self._work_at_interrupt(task)    # kick() interrupted it for this
            else:
                task.resume()             # PTRACE_INTERRUPT or a new task's first stop
        elif event:
            task.resume()
        elif sig == signal.SIGSYS:
            self._on_sigsys(task)
        else:
            task.resume(sig)              # signal-delivery-stop: deliver it

    def _on_new_task(self, parent, tid, event):
        if tid in self.tasks:
            return
        if event == libc.PTRACE_EVENT_CLONE:
            tgid = _read_tgid(tid) or parent.tgid
        else:
            tgid = tid
        child = self.kernel.create_task(tid, tgid, parent)
        self.tasks[tid] = child
        self._trap_add(child)
        self.placement.task_added(child, parent)
        early = self._early_stops.pop(tid, None)
        if early is not None:
            self._dispatch(tid, early)

    # --- syscalls and injection ------------------------------------------------------
    def _on_syscall(self, task):
        stop = task.syscall_stop()
        if stop.op != libc.PTRACE_SYSCALL_INFO_SECCOMP:
            task.resume()
            return
        self._on_seccomp(task, stop)

    def _on_seccomp(self, task, stop):
        """Serve the syscall a task stopped in (no injection under way)."""
        task.regs_valid = False
        task.syscall_insn = (stop.ip - 2, stop.abi)
        if task.ctrap is not None:
            task.ctrap.ip = 0          # this call is newer than any C served
        outcome = self._serve(task, stop)
        lib = self._native
        if type(outcome) is int and lib is not None:   # the commonest: a result
            err = lib.ps_return(task.tid, outcome)
            if err < 0:
                raise OSError(-err, os.strerror(-err))
            return
        if outcome is PASSTHROUGH:
            if lib is not None:
                err = lib.ps_cont(task.tid, 0)
                if err < 0:
                    raise OSError(-err, os.strerror(-err))
                return
            task.resume()
        elif isinstance(outcome, PassThenCall):
            task.after_exit = outcome.callback
            task._resume(libc.PTRACE_SYSCALL, 0)
        elif isinstance(outcome, int):
            if lib is not None:
                err = lib.ps_return(task.tid, outcome)
                if err < 0:
                    raise OSError(-err, os.strerror(-err))
                return
            task.set_result(outcome)
            task.resume()
        else:
            task.coro = outcome
            task.saved_regs = task.copy_regs()
            task.inject_ip = task.saved_regs.rip - 2
            task.injected = False
            self._step(task, None)

    def _on_sigsys(self, task):
        """A SIGSYS stop: a syscall our filter trapped (SECCOMP_RET_TRAP, see
        platform/seccomp.py) is served like one at a seccomp stop and the
        signal suppressed; any other SIGSYS is the program's own to get."""
        stop = SigsysStop(task.siginfo(), task.regs())
        if stop.data != SIGSYS_DATA or task.coro is not None:
            task.resume(signal.SIGSYS)
            return
        outcome = self._serve(task, stop)
        if outcome is PASSTHROUGH or isinstance(outcome, PassThenCall):
            # Only calls the host refuses come here: there is nothing to pass to.
            outcome = -errno.ENOSYS
        # The syscall already returned to user mode (rolled back): the result
        # is written over the saved registers' rax, and every injection runs
        # the syscall instruction again (rip - 2), as for a later injection
        # at a seccomp stop.  orig_rax -1 keeps the kernel's restart logic out.
        task.syscall_insn = (stop.ip - 2, stop.abi)
        if task.ctrap is not None:
            task.ctrap.ip = 0          # newer than any call C served
        task.saved_regs = task.copy_regs()
        task.saved_regs.orig_rax = _U64
        task.inject_ip = task.saved_regs.rip - 2
        task.injected = True
        if isinstance(outcome, int):
            self._finish(task, outcome)
            return
        task.coro = outcome
        self._step(task, None)

    def _serve(self, task, stop):
        """The kernel's outcome for a trapped syscall; a Sentry bug is EIO."""
        task.stop_abi = stop.abi
        try:
            return self.kernel.syscall(task, stop)
        except Exception:
            _report_internal_error(task)
            return -errno.EIO

    def _on_syscall_stop(self, task):
        if task.coro is None:
            callback = task.after_exit
            if callback is not None:
                task.after_exit = None
                try:
                    callback()
                except Exception:
                    _report_internal_error(task)
            task.resume()
            return
        stop = task.syscall_stop()
        if stop.op != libc.PTRACE_SYSCALL_INFO_EXIT:
            # The entry of an injected syscall that runs the syscall
            # instruction again.  A wait whose wake-up came first is skipped.
            if task.in_wait and task.wake_pending:
                task.wake_pending = False
                task.set_result(-_ERESTARTNOHAND)
            task.resume()
            return
        if task.in_wait:
            task.in_wait = task.wake_pending = False
        self._step(task, stop.rval)

    def _step(self, task, value):
        try:
            request = task.coro.send(value)
        except StopIteration as done:
            self._finish(task, done.value)
            return
        except Exception:             # a Sentry bug must not take the child down
            _report_internal_error(task)
            self._finish(task, -errno.EIO)
            return
        if self._kill_at is not None and request.nr == self._kill_at[0]:
            self._test_kill(task, request)
        regs = task.copy_regs()
        if task.injected:
            regs.rip = task.inject_ip      # run a syscall instruction (again)
        task.in_wait = request.wait
        PtraceTask.load_syscall(regs, task.stop_abi, request.nr, request.args)
        task.set_regs(regs)
        task.injected = True
        task.resume()

    def _test_kill(self, task, request):
        """The fault tests' hook (PYSENTRY_TEST_KILL_AT_INJECT=NR[:N], read in
        __init__): SIGKILL the program's process at the Nth injection of
        syscall NR, with the thread stopped half-way through the handler --
        the one deterministic way to kill a program there."""
        self._kill_at[1] -= 1
        if self._kill_at[1] == 0:
            import sys
            sys.stderr.write("pysentry: test hook: SIGKILL at injected syscall %d\n" % request.nr)
            os.kill(task.tgid, signal.SIGKILL)

    def _finish(self, task, result):
        if not isinstance(result, int):
            result = -errno.EIO   # coroutines cannot pass through once they have injected
        saved = task.saved_regs
        injected = task.injected
        task.coro = None
        task.saved_regs = None
        task.injected = False
        if injected:
            saved.rax = result & ((1 << 64) - 1)
            task.set_regs(saved)
        else:
            task.set_result(result)
        task.resume()
        if self.kernel.work_pending(task):
            task.interrupt()          # work queued meanwhile: come back for it (kick)

    def kick(self, task):
        """The kernel has work for task that needs it stopped (io_uring task
        work): interrupt it unless it is stopped in the Sentry already, or in
        the middle of an injection (_finish() interrupts it after).  Its
        stops come to Python from now on (the trap step's flag)."""
        self._trap_disable(task)
        if task.alive and task.coro is None and task is not self._dispatching:
            task.interrupt()

    def _work_at_interrupt(self, task):
        """Run the kernel's work for task at an interrupt stop, by injection.

        Stopped inside a blocking syscall, the thread runs the injected
        calls from that syscall's own instruction.  The interruption made the
        call return -ERESTART*; the kernel would restart it on the way back
        to user mode, but the injections have used that way back, so the
        restart is done here: the saved registers come back pointing at the
        syscall instruction again, with the call's number (restart_syscall's
        for -ERESTART_RESTARTBLOCK).  A call that fails with EINTR where
        Linux restarts nothing (epoll_wait) got it from this interruption
        alone, which the program never asked for: it is restarted too (from
        its full timeout).
        Stopped in user mode, the thread runs the injected calls from a
        syscall instruction it executed before, and goes on where it was."""
        saved = task.copy_regs()
        if task.ctrap is not None and task.ctrap.ip:
            # The last call the thread made was served by the C trap step.
            task.syscall_insn = (task.ctrap.ip - 2, ABI_X86_64)
            task.ctrap.ip = 0
        if saved.orig_rax != _U64:
            in_syscall = True
            ip = saved.rip - 2
            known = task.syscall_insn
            abi = known[1] if known and known[0] == ip else ABI_X86_64
        elif task.syscall_insn is not None:
            in_syscall = False
            ip, abi = task.syscall_insn
        else:
            task.resume()
            return
        rax = saved.rax - (1 << 64) if saved.rax >> 63 else saved.rax
        if in_syscall and -rax in _RESTART_CODES:
            saved.rip = ip
            if -rax == _ERESTART_RESTARTBLOCK:
                rax = _RESTART_SYSCALL[abi]
            else:
                rax = saved.orig_rax
        task.saved_regs = saved
        task.inject_ip = ip
        task.stop_abi = abi
        task.injected = True
        task.coro = self._then_restore(self.kernel.run_work(task), rax)
        self._step(task, None)

    @staticmethod
    def _then_restore(work, rax):
        yield from work
        return rax

    def wake(self, task):
        """Wake a task the Sentry parked in a host wait (see module docstring)."""
        self._trap_disable(task)
        if task.alive:
            task.wake_pending = True
            task.interrupt()


def _abandon(task):
    """A task died (SIGKILL, an exec in another thread) in the middle of a
    handler coroutine -- waiting in io_uring_enter, half-way through an
    injected open or fd transfer.  Close the coroutine now so that its
    finally blocks and with statements run: the ring reference an enter wait
    holds, a waiter, the Sentry's end of an fd transfer.  Left to the garbage
    collector (the coroutine and the task refer to each other), a killed
    waiter kept its ring and the ring's requests, timers and fds alive."""
    coro, task.coro = task.coro, None
    task.saved_regs = None
    task.injected = False
    if coro is not None:
        try:
            coro.close()
        except Exception:
            _report_internal_error(task)


def _report_internal_error(task):
    import sys
    import traceback
    sys.stderr.write("pysentry: internal error while serving task %d (the syscall fails "
                     "with EIO):\n%s" % (task.tid, traceback.format_exc()))


def _read_tgid(tid):
    try:
        with open("/proc/%d/status" % tid, "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
