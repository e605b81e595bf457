"""IORING_REGISTER_IOWQ_AFF, IORING_UNREGISTER_IOWQ_AFF and
IORING_REGISTER_IOWQ_MAX_WORKERS: settings of Linux's io-wq, the per-thread
pool of workers that runs requests which cannot complete inline.

The Sentry has no such pool -- what would go to io-wq runs on the
submitter's behalf in the Sentry -- but the settings are per thread state a
program can read back, so they are kept exactly as Linux keeps them:
  * every thread with io_uring state (tctx.py) has its own limits, set when
    that state is created by a ring: bounded workers min(sq_entries,
    4 * online CPUs), unbounded workers the thread's RLIMIT_NPROC
    (io_init_wq_offload, io_wq_create);
  * an SQPOLL ring's settings are its SQ thread's;
  * IOWQ_MAX_WORKERS returns the previous limits and changes the non-zero
    ones, capped at RLIMIT_NPROC (io_wq_max_workers); the ring remembers
    them for threads that join it later;
  * IOWQ_AFF accepts a CPU mask within the thread's cpuset
    (io_wq_cpu_affinity); a thread without io_uring state gets EINVAL.
Nothing else depends on them: they bound a pool that does not exist.
"""
import errno
import os
import resource
import struct

INT_MAX = (1 << 31) - 1
_COUNTS = struct.Struct("<II")


class IoWq:
    """One io-wq's settings: [bounded, unbounded] worker limits, CPU mask."""
    __slots__ = ("max_workers", "cpus")

    def __init__(self, sq_entries, tgid):
        self.max_workers = [min(sq_entries, 4 * _online_cpus()), _nproc(tgid)]
        self.cpus = None          # None: the cpuset's CPUs


def for_ring(task, ring):
    """The io-wq whose settings a register call on `ring` changes, or None."""
    if ring.sqpoll is not None:
        wq = getattr(ring.sqpoll, "iowq", None)
        if wq is None:
            wq = ring.sqpoll.iowq = IoWq(ring.sq_entries, task.tgid)
        return wq
    tctx = task.uring_tctx
    return tctx.iowq if tctx is not None else None


def _nproc(tgid):
    soft = resource.prlimit(tgid, resource.RLIMIT_NPROC)[0]
    return soft & 0xFFFFFFFF      # an int in Linux: RLIM_INFINITY reads as -1


def _parse_cpulist(text):
    cpus = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def _online_cpus():
    try:
        with open("/sys/devices/system/cpu/online") as f:
            return len(_parse_cpulist(f.read()))
    except OSError:
        return os.cpu_count() or 1


def _possible_cpus():
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            return max(_parse_cpulist(f.read())) + 1
    except (OSError, ValueError):
        return os.cpu_count() or 1


def _cpuset_cpus(tid):
    """The CPUs of the thread's cpuset (cpuset_cpus_allowed)."""
    try:
        with open("/proc/%d/cgroup" % tid) as f:
            for line in f:
                hier, _, path = line.rstrip("\n").split(":", 2)
                if hier == "0":
                    with open("/sys/fs/cgroup%s/cpuset.cpus.effective" % path) as g:
                        return _parse_cpulist(g.read())
    except (OSError, ValueError):
        pass
    with open("/sys/devices/system/cpu/online") as f:
        return _parse_cpulist(f.read())


def register_iowq_aff(kernel, task, ring, arg, nr_args):
    if not arg or not nr_args:
        raise OSError(errno.EINVAL, "no mask")
    # Linux copies at most cpumask_size() bytes (whole longs for the CPUs).
    size = min(nr_args, 8 * ((_possible_cpus() + 63) // 64))
    raw = task.mem.read(arg, size)
    mask = {i * 8 + b for i, byte in enumerate(raw) for b in range(8) if byte >> b & 1}
    return _set_aff(task, ring, mask)


def unregister_iowq_aff(kernel, task, ring, arg, nr_args):
    if arg or nr_args:
        raise OSError(errno.EINVAL, "arguments given")
    return _set_aff(task, ring, None)


def _set_aff(task, ring, mask):
    wq = for_ring(task, ring)
    if wq is None:
        raise OSError(errno.EINVAL, "no io-wq in this thread")
    # cpumask_subset() looks at the first nr_cpu_ids bits only: CPUs that
    # cannot exist are ignored, not refused.
    if mask is not None and not {c for c in mask if c < _possible_cpus()} <= _cpuset_cpus(task.tid):
        raise OSError(errno.EINVAL, "CPUs outside the cpuset")
    wq.cpus = mask
    return 0


def register_iowq_max_workers(kernel, task, ring, arg, nr_args):
    if not arg or nr_args != 2:
        raise OSError(errno.EINVAL, "needs two counts")
    new = list(_COUNTS.unpack(task.mem.read(arg, _COUNTS.size)))
    if any(n > INT_MAX for n in new):
        raise OSError(errno.EINVAL, "count over INT_MAX")
    if ring.sqpoll is None:
        # The ring remembers the limits for threads that join it later
        # (ctx->iowq_limits, applied by __io_uring_add_tctx_node).
        limits = ring.iowq_limits or [0, 0]
        ring.iowq_limits = [n or old for n, old in zip(new, limits)]
    wq = for_ring(task, ring)
    if wq is None:
        out = [0, 0]              # no io-wq: Linux reports zeros
    else:
        out = apply(wq, new, task.tgid)
    task.mem.write(arg, _COUNTS.pack(*out))
    return 0


def apply(wq, new, tgid):
    """io_wq_max_workers: set the non-zero limits (capped at RLIMIT_NPROC);
    return the previous ones."""
    cap = _nproc(tgid)
    prev = [max(m, 0) for m in wq.max_workers]
    for i, n in enumerate(new):
        if n:
            wq.max_workers[i] = min(n, cap)
    return prev
