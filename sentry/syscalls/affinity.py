"""sched_getaffinity(2) and sched_setaffinity(2): the program's own CPU mask.

CPU placement (platform/placement.py) narrows the host mask of the thread it
pins beside the Sentry to one CPU.  The program must not see that: glibc
sizes its malloc arenas, and Go, Rust, Java and OpenMP size their thread
pools, from sched_getaffinity.  So while a thread's host mask is narrowed,
both calls stop here (they are trapped only when a placement policy is on):

  * get: the host runs the call (it checks len, the pid and the buffer, and
    returns how many bytes it wrote, as Linux does), then the Sentry writes
    the thread's own mask over those bytes;
  * set: the host runs the call (every check, and the intersection with the
    cpuset, are Linux's own); on success the mask the host now has is the
    thread's own, and placement narrows it again if the policy wants.

A pid that is not a traced thread, or a thread the policy leaves alone,
passes straight through.
"""
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall
from pysentry.sentry.syscalls.numbers import signed_fd


def _target(task, stop):
    pid = signed_fd(stop.args[0])
    return task.tid if pid == 0 else pid


def _mask_bytes(cpus, size):
    bits = 0
    for cpu in cpus:
        bits |= 1 << cpu
    return (bits & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def sys_sched_getaffinity(kernel, task, stop):
    placement = kernel.tracer.placement
    tid = _target(task, stop)
    if not placement.narrowed(tid):
        return PASSTHROUGH
    return _get(task, stop, placement, tid)


def _get(task, stop, placement, tid):
    n = yield InjectSyscall(stop.nr, *stop.args)
    n = n - (1 << 64) if n >= 1 << 63 else n
    own = placement.own_mask(tid)
    if n > 0 and own is not None:
        try:
            task.mem.write(stop.args[2], _mask_bytes(own, n))
        except OSError:
            pass      # the host just wrote there: only a racing munmap gets here
    return n


def sys_sched_setaffinity(kernel, task, stop):
    placement = kernel.tracer.placement
    tid = _target(task, stop)
    if placement.own_mask(tid) is None:
        return PASSTHROUGH
    return _set(stop, placement, tid)


def _set(stop, placement, tid):
    res = yield InjectSyscall(stop.nr, *stop.args)
    if res == 0:
        placement.affinity_set(tid)
    return res
