"""io_uring_enter(2): submit SQEs and wait for completions.

Waiting happens in the child, not in the Sentry: the trapped syscall is
replaced by ppoll(NULL, 0, timeout, sigmask), so the child sleeps in the host
kernel with the caller's signal mask applied atomically, a signal interrupts
it as it would interrupt io_uring_enter (-EINTR), and the Sentry's loop stays
free.  When completions arrive the Sentry wakes it with PTRACE_INTERRUPT and
re-checks the condition.  As in io_cqring_wait(), a wait that ends early
(timeout, signal) reports success if any CQE is available, and io_uring_enter
returns the number of SQEs submitted if it is non-zero, else the wait result.
"""
import errno
import time

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import abi, dataplane, memregion, submit, taskwork, tctx
from pysentry.sentry.syscalls import numbers

# IORING_ENTER_NO_IOWAIT only keeps Linux from counting the wait as iowait;
# the Sentry's waits (ppoll in the program) never count as iowait, so
# accepting it is all there is to it.
SUPPORTED_ENTER_FLAGS = (abi.ENTER_GETEVENTS | abi.ENTER_SQ_WAKEUP | abi.ENTER_SQ_WAIT
                         | abi.ENTER_EXT_ARG | abi.ENTER_REGISTERED_RING | abi.ENTER_ABS_TIMER
                         | abi.ENTER_EXT_ARG_REG | abi.ENTER_NO_IOWAIT)
ERESTARTNOHAND = 514
_RESTART = (-ERESTARTNOHAND, -errno.EINTR, -512, -513, -516)


# Signals whose default action is to ignore them (sig_kernel_ignore).
_DEFAULT_IGNORED = (1 << (17 - 1)) | (1 << (18 - 1)) | (1 << (23 - 1)) | (1 << (28 - 1))  # CHLD CONT URG WINCH


def _only_ignored_signals(tid):
    """Did the wait's ppoll end for signals Linux would have dropped?  A
    signal the program ignores (SIG_IGN, or SIG_DFL for SIGCHLD and the
    like) is discarded when sent (sig_ignored()), so it never makes
    io_uring_enter's wait return -EINTR; but the program is ptraced, and
    for a traced task the kernel queues it anyway, which ends the injected
    ppoll.  Read at the ppoll's exit stop, before the signal is delivered:
    the pending, unblocked signals, all ignored ones.  Nothing pending
    (nothing to judge by) is not such a case."""
    fields = {}
    try:
        with open("/proc/%d/status" % tid) as f:
            for line in f:
                key = line[:6]
                if key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"):
                    fields[key] = int(line.split()[1], 16)
    except OSError:
        return False
    pending = (fields.get("SigPnd", 0) | fields.get("ShdPnd", 0)) & ~fields.get("SigBlk", 0)
    if not pending:
        return False
    ignored = fields.get("SigIgn", 0) | (_DEFAULT_IGNORED & ~fields.get("SigCgt", 0))
    return not pending & ~ignored


class Waiter:
    __slots__ = ("task", "min_complete", "woken", "timeouts")

    def __init__(self, task, min_complete, timeouts):
        self.task = task
        self.min_complete = min_complete
        self.woken = False
        # A TIMEOUT request completing ends the wait even short of
        # min_complete (io_should_wake() compares ctx->cq_timeouts).
        self.timeouts = timeouts


def lookup_ring(kernel, task, fd):
    """The ring behind fd: EBADF if fd is not open, EOPNOTSUPP if not an io_uring."""
    ring = kernel.ring_of(task, fd)
    if ring is None:
        raise OSError(errno.EOPNOTSUPP, "not an io_uring fd")
    return ring


def sys_io_uring_enter(kernel, task, stop):
    # The C trap step (platform/native/trap.c) may have begun this call:
    # the data plane's submit ran, and it handed the rest over
    # (dataplane.c ps_dp_enter: an SQE it left, or a wait).  `pre` is that
    # submit's answer, which submit.submit() takes in place of making it.
    pre = None
    t = task.ctrap
    if t is not None and t.cont[0]:
        t.cont[0] = 0
        pre = (t.cont[1], t.cont[2], t.cont[3], t.cont[4], t.cont[5])
    ring = _ring_of_enter(task, stop)
    out = _sys_io_uring_enter(kernel, task, stop, pre)
    if ring is None or ring._c is None:
        return out
    if isinstance(out, int):
        dataplane.enter_sync(ring)
        return out
    return _synced_after(ring, out)


def _ring_of_enter(task, stop):
    """The ring a plain io_uring_enter named (the trap step serves no
    other), or None."""
    fd, flags = stop.args[0] & 0xFFFFFFFF, stop.args[3] & 0xFFFFFFFF
    if flags & abi.ENTER_REGISTERED_RING:
        return None
    desc = task.fdtable.entries.get(numbers.signed_fd(fd))
    return getattr(desc, "ring", None) if getattr(desc, "kind", None) == "io_uring" else None


def _synced_after(ring, gen):
    try:
        return (yield from gen)
    finally:
        dataplane.enter_sync(ring)


def _sys_io_uring_enter(kernel, task, stop, pre):
    fd, to_submit, min_complete, flags = (a & 0xFFFFFFFF for a in stop.args[:4])
    argp, argsz = stop.args[4], stop.args[5]
    try:
        if flags & abi.ENTER_REGISTERED_RING:
            ring = tctx.registered_ring(task, fd)
        else:
            ring = lookup_ring(kernel, task, numbers.signed_fd(fd))
        if (to_submit and not kernel.can_getfd and ring.sqpoll is None
                and not flags & ~SUPPORTED_ENTER_FLAGS):
            # Fds taken over by injection are taken before anything is
            # consumed: FdNotHeld makes the Kernel take them and serve this
            # call again from the start (and this trace line come once).
            kernel.require_held(task, submit.fds_named(ring, to_submit))
    except OSError as e:
        ring, err = None, -e.errno
    if kernel.io_uring.trace is not None:
        kernel.io_uring.trace.enter(task, numbers.signed_fd(fd), to_submit, min_complete, flags)
    if flags & ~SUPPORTED_ENTER_FLAGS:
        return -errno.EINVAL
    if ring is None:
        return err
    if not ring.enabled:
        return -errno.EBADFD          # IORING_SETUP_R_DISABLED until ENABLE_RINGS
    if (ring.flags & abi.SETUP_SINGLE_ISSUER and to_submit and ring.sqpoll is None
            and ring.submitter_tid != task.tid):
        return -errno.EEXIST        # only the submitter task may submit
    if not ring.defer_taskrun:
        return _enter_ring(kernel, task, stop, ring, to_submit, min_complete, flags, argp, argsz,
                           pre)
    if ring.submitter_tid != task.tid:
        # DEFER_TASKRUN: only the submitter may run the ring's deferred work,
        # so only it may wait (io_allowed_run_tw).
        if flags & abi.ENTER_GETEVENTS:
            return -errno.EEXIST
        return 0
    # While the submitter is inside the call, completions are posted as they
    # happen: that is Linux running its local work in io_cqring_wait().
    ring.local_open += 1
    try:
        out = _enter_ring(kernel, task, stop, ring, to_submit, min_complete, flags, argp, argsz,
                          pre)
    except BaseException:
        ring.local_open -= 1
        raise
    if isinstance(out, int):
        ring.local_open -= 1
        return out
    return _closing_local(ring, out)


def _closing_local(ring, gen):
    try:
        return (yield from gen)
    finally:
        ring.local_open -= 1


def _enter_ring(kernel, task, stop, ring, to_submit, min_complete, flags, argp, argsz,
                pre=None):
    if ring.sqpoll is not None:
        # The SQ thread submits; the call only wakes it.  Running what is
        # queued right now is what a prompt SQ thread would do, and makes
        # IORING_ENTER_SQ_WAIT (room in the SQ) hold on return -- unless the
        # thread sleeps and the call does not wake it: then, as in Linux,
        # nothing is submitted (the SQEs wait for a wake-up).  Linux returns
        # to_submit here.
        asleep = ring.sqpoll.asleep()
        if flags & abi.ENTER_SQ_WAKEUP:
            ring.sqpoll.wake()      # a sleeping thread then submits itself
        if not asleep or flags & abi.ENTER_SQ_WAIT:
            ring.sqpoll.run_pending()
        submitted = to_submit
    else:
        if to_submit:
            tctx.add_node(task, ring)  # as io_uring_enter's io_uring_add_tctx_node()
        submitted = submit.submit(kernel, ring, task, to_submit, pre) if to_submit else 0
        if submitted != to_submit:
            # Fewer submitted than asked (an SQE failed to initialise, or the
            # SQ held fewer): Linux returns at once without waiting.
            flags &= ~abi.ENTER_GETEVENTS
    if task.task_work:
        return _task_work_then_wait(kernel, task, stop, ring, submitted, min_complete, flags,
                                    argp, argsz)
    return _getevents(kernel, task, stop, ring, submitted, min_complete, flags, argp, argsz)


def _task_work_then_wait(kernel, task, stop, ring, submitted, min_complete, flags, argp,
                         argsz):
    # Requests issued just now that need this thread's context (OPENAT,
    # CLOSE, ...) complete before the call returns, as inline issue does in Linux.
    yield from taskwork.run(kernel, task)
    rest = _getevents(kernel, task, stop, ring, submitted, min_complete, flags, argp, argsz)
    if isinstance(rest, int):
        return rest
    return (yield from rest)


def _getevents(kernel, task, stop, ring, submitted, min_complete, flags, argp, argsz):
    # The program may have reaped CQEs since the ring fd was last made
    # readable: bring its readiness up to date (ready.py).
    ring.ready.refresh()
    if not flags & abi.ENTER_GETEVENTS:
        return submitted
    # Parse the wait arguments (io_get_ext_arg).
    sigmask, sigsz, timeout, min_wait = argp, argsz, None, 0
    if flags & abi.ENTER_EXT_ARG:
        try:
            if flags & abi.ENTER_EXT_ARG_REG:
                # argp is an offset into the registered wait region
                # (memregion.py); an IOPOLL ring's io_validate_ext_arg()
                # refuses the flag outright.
                if argsz != memregion.REG_WAIT.size or ring.flags & abi.SETUP_IOPOLL:
                    return submitted or -errno.EINVAL
                ts, min_wait, sigmask, sigsz = memregion.wait_arg(task, ring, argp)
            else:
                if argsz != abi.GETEVENTS_ARG.size:
                    return submitted or -errno.EINVAL
                sigmask, sigsz, min_wait, ts_addr = abi.GETEVENTS_ARG.unpack(
                    task.mem.read(argp, abi.GETEVENTS_ARG.size))
                ts = abi.TIMESPEC.unpack(task.mem.read(ts_addr, abi.TIMESPEC.size)) if ts_addr else None
        except OSError as e:
            return submitted or -e.errno
        if ts is not None:
            timeout = ts[0] + ts[1] / 1e9
            if flags & abi.ENTER_ABS_TIMER:
                # A time on the ring's clock: CLOCK_MONOTONIC, or the one
                # IORING_REGISTER_CLOCK chose (BOOTTIME).
                timeout = max(0.0, timeout - time.clock_gettime(ring.clockid))
        min_wait /= 1e6           # min_wait_usec (IORING_FEAT_MIN_TIMEOUT)
    min_complete = min(min_complete, ring.cq_entries)
    if ring.local_cqes:
        ring.run_local_work()       # DEFER_TASKRUN: after submission, before the wait
    ring.flush_overflow()
    if ring.flags & abi.SETUP_IOPOLL:
        # io_iopoll_check() polls the requests in flight and never sleeps on
        # the CQ (timeout and sigmask are unused).  The Sentry completes
        # polled I/O when it is issued, so there is nothing left to poll.
        return submitted
    if ring.cq_ready() >= min_complete:
        return submitted
    return _wait(kernel, task, stop, ring, submitted, min_complete, sigmask, sigsz, timeout,
                 min_wait)


def _wait(kernel, task, stop, ring, submitted, min_complete, sigmask, sigsz, timeout,
          min_wait=0):
    now = time.monotonic()
    deadline = None if timeout is None else now + timeout
    # With min_wait (io_cqring_min_timer_wakeup): until it passes, only
    # min_complete CQEs end the wait; then any CQE ready (or posted since the
    # wait began) ends it, as does the lack of a longer timeout (-ETIME);
    # else the wait goes on to the timeout, ended by any one completion.
    min_deadline = now + min_wait if min_wait else None
    start_tail = ring.cq_tail
    waiter = Waiter(task, min_complete, ring.cq_timeouts)
    ring.waiters.append(waiter)
    # A waiter must be woken by Python's notify(): no io_uring_enter on
    # this ring in C until the next one Python serves (dataplane.enter_sync).
    dataplane.enter_off(ring)
    # Like Linux's fdget() held across io_uring_enter, the wait keeps the ring
    # alive even if another thread closes the last fd meanwhile.
    ring.refs += 1
    # From now on an SQ thread's completions kick the Sentry's loop, which
    # wakes this waiter; what it posted before is seen by the check below.
    if ring.sqpoll is not None:
        dataplane.sync(ring)
    ts_addr = task.scratch(abi.TIMESPEC.size) if timeout is not None or min_wait else 0
    try:
        while True:
            if ring.sqpoll is not None and ring.cq_ready() >= waiter.min_complete:
                res = 0
                break
            if min_deadline is not None and time.monotonic() >= min_deadline:
                min_deadline = None
                if deadline is None or deadline <= now + min_wait:
                    res = -errno.ETIME
                    break
                if ring.cq_ready() or ring.cq_tail != start_tail:
                    res = 0
                    break
                waiter.min_complete = 1
            phase_end = deadline if min_deadline is None else min_deadline
            if deadline is not None and min_deadline is not None:
                phase_end = min(deadline, min_deadline)
            if phase_end is not None:
                left = max(0.0, phase_end - time.monotonic())
                if left == 0.0 and phase_end is not min_deadline:
                    res = -errno.ETIME
                    break
                sec = int(left)
                task.mem.write(ts_addr, abi.TIMESPEC.pack(sec, int((left - sec) * 1e9)))
            waiter.woken = False
            task.parked = waiter
            rval = yield InjectSyscall(numbers.ppoll(stop.abi), 0, 0, ts_addr, sigmask, sigsz,
                                       wait=True)
            task.parked = None
            if task.task_work:
                yield from taskwork.run(kernel, task)
            ring.flush_overflow()
            if ring.cq_ready() >= waiter.min_complete or ring.cq_timeouts != waiter.timeouts:
                res = 0
                break
            if rval == 0:
                if min_deadline is not None:
                    continue          # the end of min_wait: decided at the top
                res = -errno.ETIME
                break
            if rval in _RESTART:
                if waiter.woken:
                    continue          # our own wake-up, but another task took the CQEs
                if _only_ignored_signals(task.tid):
                    continue          # no signal Linux would have queued: still waiting
                res = -errno.EINTR
                break
            res = rval if rval < 0 else 0     # e.g. -EFAULT/-EINVAL for a bad sigmask
            break
    finally:
        task.parked = None
        if waiter in ring.waiters:
            ring.waiters.remove(waiter)
        if ring.sqpoll is not None:
            dataplane.sync(ring)
        ring.refs -= 1
        if ring.refs == 0:
            kernel.io_uring.destroy(ring)
    if res in (-errno.ETIME, -errno.EINTR) and ring.cq_ready():
        res = 0
    return submitted or res
