"""CPU placement: run the trap loop on the CPU where the trapping thread runs.

A trapped syscall is a hand-off: the program's thread stops and wakes the
Sentry, the Sentry serves the stop and wakes the thread.  When the two sit on
different CPUs each hand-off is a cross-CPU wake-up, and on an idle (or
virtualised) CPU that means an IPI and a wake from idle: most of the cost of
a trap (docs/performance.md: 39-50 us per stop for a minimal C tracer,
against 8 us with both on one CPU).  On one CPU the hand-off is a plain context switch.

Policy "auto" (the default) therefore keeps the Sentry's trap-loop thread
and the program's *hot* thread -- the one that makes nearly all of the stops
-- on one CPU, and lets everything else run where the scheduler puts it:

  * the program starts single-threaded, so its thread and the Sentry are
    pinned together from the first instruction;
  * a new thread or process unpins: which thread will trap now is unknown;
  * a watchdog thread looks at the stops per thread every INTERVAL (stops
    or not: a pinned pair that stops trapping must still be able to move).
    One thread with most of them, often (fio's job process beside its idle
    parent, a program's I/O thread beside compute threads), becomes the hot
    one; when several threads share the stops (a thread pool, a ring per
    thread), or stops are rare (SQPOLL: submission needs no syscall),
    nothing is pinned: the threads need the parallelism more than the
    hand-off needs one CPU, and all float as they do without a policy;
  * the SQ polling threads (IORING_SETUP_SQPOLL, without SQ_AFF) float, on
    the Sentry's whole mask, whatever the trap loop's is when they start.
    With SQPOLL the program submits without stopping, and the SQ thread,
    the Sentry and a program that polls its CQ are three busy threads;
    keeping the SQ thread off the pinned CPU measured the same as leaving
    it alone on a quiet machine, and 0.6-0.75x of it with another busy
    process holding one CPU (fio, QD32): the scheduler adapts, a rule not;
  * the CPU is the one the trap loop runs on when the pair is pinned (the
    scheduler's latest choice).  If the CPU then spends a good part of its
    time on something else (a second sandbox that chose the same CPU, any
    busy process) while another allowed CPU offers clearly more, the pair
    moves there -- with probability 1/2 at each look, so that of two
    sandboxes on one CPU, one soon moves and the other stays.

Never wider than the Sentry's own affinity mask when it started (taskset, a
container's cpuset): the pinned CPU comes from it, and nothing is ever set to
more than it, or than the program's own mask.

What the program sees: each traced thread keeps the affinity mask Linux would
give it (inherited at clone, set by sched_setaffinity), its *own* mask; the
Sentry narrows the host mask of the hot thread to one CPU of it, and serves
sched_getaffinity(2) and sched_setaffinity(2) (sentry/syscalls/affinity.py)
so the program reads and sets its own mask exactly as natively.  Other ways
of looking (/proc/<pid>/status Cpus_allowed, getcpu(2)) see the host mask:
docs/io_uring.md lists that difference.

Policy "pin:N" pins the trap loop and every program thread to CPU N (SQ
threads float) for the whole run; "none" touches nothing.
"""
import os
import random
import signal
import sys
import threading
import time

from pysentry.platform import libc

INTERVAL = 0.1          # seconds between two looks at the program
_PIN_RATE = 1000        # stops/s from which one hand-off per stop is worth a CPU
_UNPIN_RATE = 300       # ... and below which the scheduler is the better judge
_HOT_SHARE = 0.8        # a thread with this share of the stops becomes the hot one
_KEEP_SHARE = 0.6       # ... and stays it above this share (no flapping in between)
_CONTENTION_SPAN = 0.3  # seconds over which CPU time is compared (10 ms ticks)
_CONTENDED = 0.25       # share of the pair's CPU that something else used
_GAIN = 0.15            # share of a CPU a move must be expected to gain

# PYSENTRY_PLACEMENT_LOG=1: say on stderr what is pinned where, and why.
_LOG = os.environ.get("PYSENTRY_PLACEMENT_LOG") == "1"


def _log(msg):
    sys.stderr.write("pysentry: placement: %s\n" % msg)


def parse_policy(text):
    """'auto', 'none' or 'pin:N' -> (kind, cpu); ValueError otherwise."""
    if text in ("auto", "none"):
        return text, None
    if text.startswith("pin:"):
        cpu = int(text[4:])
        if cpu < 0:
            raise ValueError("negative CPU")
        return "pin", cpu
    raise ValueError("expected auto, none or pin:N")


def _cpu_list(cpus):
    return ",".join(str(c) for c in sorted(cpus))


def _stops(task):
    t = getattr(task, "ctrap", None)
    return task.stops + (t.stops if t is not None else 0)


def _set(tid, cpus):
    """sched_setaffinity; False if the thread is gone or the mask refused."""
    try:
        os.sched_setaffinity(tid, cpus)
        return True
    except OSError:
        return False


def _getaffinity(tid):
    return os.sched_getaffinity(tid)


def _thread_id():
    return threading.get_native_id()


def _this_cpu():
    return libc.lib.sched_getcpu()


def _last_cpu(tid):
    """The CPU a thread last ran on (field 39 of /proc/<tid>/stat), or -1."""
    try:
        with open("/proc/%d/stat" % tid, "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


def _schedstat(path):
    """(on-CPU ns, runqueue-wait ns) from a schedstat file, or None."""
    try:
        with open(path, "rb") as f:
            run, wait, _ = f.read().split()
        return int(run), int(wait)
    except (OSError, ValueError):
        return None


def _idle_ticks():
    """{cpu: idle + iowait ticks} from /proc/stat."""
    out = {}
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if not line.startswith(b"cpu"):
                    break
                name, *fields = line.split()
                if name != b"cpu":
                    out[int(name[3:])] = int(fields[3]) + int(fields[4])
    except (OSError, ValueError, IndexError):
        pass
    return out


class Placement:
    def __init__(self, policy="auto"):
        self.kind, self.pin_cpu = parse_policy(policy) if isinstance(policy, str) else policy
        # The Sentry's mask when it started: the outer bound of every mask set.
        self.allowed = frozenset(_getaffinity(0))
        if self.kind == "pin" and self.pin_cpu not in self.allowed:
            raise ValueError("CPU %d is not in pysentry's affinity mask %s"
                             % (self.pin_cpu, sorted(self.allowed)))
        # Nothing to place on one CPU: behave as "none" there (no traps either).
        self.active = self.kind != "none" and len(self.allowed) > 1
        self.tasks = {}          # tid -> task (the tracer's), each with .affinity
        self.cpu = None          # where the trap loop is pinned, None: floating
        self.hot = None          # the task pinned with it (auto)
        self.loop_tid = None     # the trap loop's thread
        self.moves = 0           # times the pair moved to another CPU for an idle one
        # The watchdog thread (auto) and the trap loop both change placement.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog = None
        self._clock = time.monotonic
        self._last = None        # (time, {tid: stops}) at the previous look
        # (time, hot, trap loop schedstat, hot schedstat, /proc/stat idle) then
        self._sched = None

    def describe(self):
        """One line for `pysentry run --check`."""
        cpus = _cpu_list(self.allowed)
        if self.kind == "none":
            return "none: the host scheduler places everything (CPUs %s)" % cpus
        if not self.active:
            return "%s: nothing to do on one CPU (%s)" % (self.kind, cpus)
        if self.kind == "pin":
            return "pin:%d: the trap loop and every thread on CPU %d" % (self.pin_cpu,
                                                                         self.pin_cpu)
        return ("auto: the trap loop pinned beside the thread making the syscalls, on one "
                "of CPUs %s; floats when several threads trap" % cpus)

    # --- the program's own masks -------------------------------------------
    def own_mask(self, tid):
        """The mask Linux would report for a traced thread, or None if not ours."""
        task = self.tasks.get(tid)
        return None if task is None else task.affinity

    def narrowed(self, tid):
        """Is the host mask of this traced thread not its own mask?"""
        task = self.tasks.get(tid)
        return task is not None and task.host_affinity is not None

    def affinity_set(self, tid):
        """The program set a thread's mask (the host applied and checked it):
        that is now its own mask; place it again."""
        with self._lock:
            task = self.tasks.get(tid)
            if task is None:
                return
            try:
                task.affinity = frozenset(_getaffinity(tid))
            except OSError:
                return
            task.host_affinity = None
            if not self.active:
                return
            if task is self.hot and self.cpu not in task.affinity:
                # Follow the program: the pair goes where the thread may run.
                if self._candidates(task):
                    self._pin(self._first_cpu(task), task)
                else:
                    self._unpin("the thread may not run on the Sentry's CPUs")
                return
            self._apply(task)

    # --- task life cycle (called by the trap loop) ---------------------------
    def start(self, task):
        """The program's first thread, forked from the Sentry with its mask,
        which starts single-threaded: pin it and the trap loop together."""
        task.affinity = self.allowed
        task.host_affinity = None
        self.tasks[task.tid] = task
        self.loop_tid = _thread_id()
        if not self.active:
            return
        with self._lock:
            if self.kind == "pin":
                self._pin(self.pin_cpu, None)
                return
            self._pin(self._first_cpu(task), task)
        self._watchdog = threading.Thread(target=self._watch, name="pysentry-placement",
                                          daemon=True)
        self._watchdog.start()

    def stop(self):
        """The sandbox is over: the watchdog ends."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None

    def task_added(self, task, parent):
        """A new thread or process: it has its creator's own mask (Linux copies
        the mask at clone), and the host mask the policy gives it."""
        with self._lock:
            task.affinity = parent.affinity if parent is not None else self.allowed
            # The host copied the creator's host mask too, narrowed or not.
            task.host_affinity = parent.host_affinity if parent is not None else None
            self.tasks[task.tid] = task
            if not self.active:
                return
            if self.kind == "auto" and self.hot is not None:
                # Which thread will make the stops now is anyone's guess:
                # float until the watchdog sees one that does (fio's job
                # process beside its parent), or none (a thread pool).
                self._unpin("a new thread or process")
            self._apply(task)

    def task_gone(self, task):
        with self._lock:
            self.tasks.pop(task.tid, None)
            if task is self.hot:
                self._unpin("the pinned thread is gone")

    def add_sq(self, sq):
        """A new SQ polling thread (without SQ_AFF): pthread_create copied the
        trap loop's mask, maybe narrowed to one CPU; it floats instead."""
        if self.active:
            sq.set_affinity(self.allowed)

    # --- the watchdog (auto) ---------------------------------------------------
    def _watch(self):
        """Look at the program every INTERVAL, stops or not: a thread in
        the trap loop would only look when stops come, and a pinned pair
        that stopped stopping (a compute phase) must still be able to move."""
        _set(0, self.allowed)
        # Signals are the trap loop's (SIGINT ends the sandbox): a signal
        # taken here would leave the loop asleep in waitpid.
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL,
                                                                         signal.SIGSTOP})
        while not self._stop.wait(INTERVAL):
            with self._lock:
                self._look()

    def _look(self):
        now = self._clock()
        # Stops served by the C trap step count too (tracer.py's trap step).
        counts = {tid: _stops(task) for tid, task in self.tasks.items()}
        last, self._last = self._last, (now, counts)
        if last is None:
            return
        span = now - last[0]
        deltas = {tid: n - last[1].get(tid, 0) for tid, n in counts.items()}
        total = sum(deltas.values())
        rate = total / span if span > 0 else 0
        hot = self.hot
        if hot is not None:
            if rate < _UNPIN_RATE or deltas.get(hot.tid, 0) < _KEEP_SHARE * total:
                self._unpin()
            else:
                self._check_contention(now, span)
        elif rate >= _PIN_RATE:
            top = max(deltas, key=deltas.get)
            task = self.tasks[top]
            if deltas[top] >= _HOT_SHARE * total and self._candidates(task):
                self._pin(self._first_cpu(task), task)

    def _check_contention(self, now, span):
        """Move the pair to an idle CPU when something else keeps running on
        its own: another program (a second sandbox that chose the same CPU,
        any busy process) or another thread of this one.  The time the CPU
        was busy, less what the pair itself ran, is that other load."""
        me = _schedstat("/proc/self/task/%d/schedstat" % self.loop_tid)
        it = _schedstat("/proc/%d/schedstat" % self.hot.tid)
        idle = _idle_ticks()
        last, self._sched = self._sched, (now, self.hot, me, it, idle)
        if (last is None or last[1] is not self.hot or me is None or it is None
                or now - last[0] < _CONTENTION_SPAN):
            if last is not None and last[1] is self.hot and now - last[0] < _CONTENTION_SPAN:
                self._sched = last          # keep measuring from the older sample
            return
        hz = os.sysconf("SC_CLK_TCK")
        ticks = (now - last[0]) * hz
        own = ((me[0] - last[2][0]) + (it[0] - last[3][0])) * hz / 1e9
        busy = ticks - (idle.get(self.cpu, 0) - last[4].get(self.cpu, 0))
        other = busy - own
        if _LOG:
            _log("CPU %d: busy %.0f%%, the pair %.0f%%" % (self.cpu, 100 * busy / ticks,
                                                          100 * own / ticks))
        if other < _CONTENDED * ticks:
            return
        # What the pair could expect elsewhere: the idle time, and half of
        # the busy time (the scheduler shares a CPU fairly between two
        # runnable loads) -- worth a move if clearly more than it has here.
        best, best_share = None, own / ticks + _GAIN
        for cpu in self._candidates(self.hot) - {self.cpu}:
            free = min(ticks, max(0, idle.get(cpu, 0) - last[4].get(cpu, 0)))
            share = (free + (ticks - free) / 2) / ticks
            if share > best_share:
                best, best_share = cpu, share
        # Two sandboxes on one CPU see the same idle CPU at the same time:
        # a coin each, so that (soon) only one of them moves.
        if best is not None and random.random() < 0.5:
            self.moves += 1
            if _LOG:
                _log("CPU %d is shared, CPU %d idle: move" % (self.cpu, best))
            self._pin(best, self.hot)

    # --- applying (with the lock held) ------------------------------------------
    def _candidates(self, task):
        return self.allowed & task.affinity

    def _first_cpu(self, task):
        """Where to pin the pair: the CPU it has if the thread may run there;
        at start, where the trap loop runs (the scheduler just chose it);
        from the watchdog, where the thread last ran (so two sandboxes
        whose threads the scheduler spread stay apart); else the lowest
        CPU the thread may run on."""
        cand = self._candidates(task)
        if self.cpu in cand:
            return self.cpu
        here = _this_cpu() if self.loop_tid == _thread_id() else _last_cpu(task.tid)
        return here if here in cand else min(cand)

    def _pin(self, cpu, hot):
        if _LOG and (cpu != self.cpu or hot is not self.hot):
            _log("pin the trap loop and %s to CPU %d" % (
                "every thread" if hot is None else "thread %d" % hot.tid, cpu))
        if cpu != self.cpu:
            _set(self.loop_tid, {cpu})
        self.cpu = cpu
        self.hot = hot
        self._sched = None
        self._apply_all()

    def _unpin(self, why="no thread makes most of the stops often enough"):
        if self.cpu is None:
            return
        if _LOG:
            _log("float: %s" % why)
        self.cpu = None
        self.hot = None
        self._sched = None
        _set(self.loop_tid, self.allowed)
        self._apply_all()

    def _apply_all(self):
        for task in list(self.tasks.values()):
            self._apply(task)

    def _apply(self, task):
        """Give the host the mask the policy wants for this thread."""
        want = None
        if self.cpu is not None and (self.kind == "pin" or task is self.hot):
            if self.cpu in task.affinity:
                want = frozenset((self.cpu,))
        if want == task.host_affinity:
            return
        if _set(task.tid, want if want is not None else task.affinity):
            task.host_affinity = want
