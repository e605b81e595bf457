"""What the Sentry holds right now: live io_uring objects, timers, waits and
its own host fds and memory.  `pysentry run --stats` prints a snapshot when
the program's first process exits (before its own rings are torn down) and
one after everything is gone; tests/test_reliability.py asserts that churn
leaves nothing live, tools/churn_rss.py reports the memory.

Requests are counted by walking the garbage collector's objects rather than
by bookkeeping, so a request kept alive by a forgotten reference (a timer's
callback, a poller token, a trace table) is counted too.
"""
import gc
import os
import resource


def _host_fds():
    try:
        return len(os.listdir("/proc/self/fd")) - 1     # minus listdir's own
    except OSError:
        return -1


def _rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def snapshot(kernel):
    """A dict of counts (all 0 when nothing is live, but sentry_fds and rss)."""
    from pysentry.sentry.iouring.request import Request
    from pysentry.sentry.iouring.ring import Ring
    gc.collect()
    requests = rings_alive = 0
    for obj in gc.get_objects():
        cls = type(obj)
        if cls is Request:
            requests += 1
        elif cls is Ring and not obj.closed:
            rings_alive += 1
    tracer = kernel.tracer
    poller = kernel.poller
    return {
        "rings": len(kernel.io_uring.by_id),
        "ring_objects": rings_alive,
        "requests": requests,
        "timers": sum(1 for e in tracer._timers if not e[2].cancelled),
        "timer_heap": len(tracer._timers),
        "poll_waits": sum(len(rec.entries) for rec in poller.waiting.values()),
        "poll_watches": len(poller.watches),
        "loop_fds": tracer._readers,
        "task_work": sum(len(t.task_work) for t in tracer.tasks.values()),
        "tasks": len(tracer.tasks),
        "sentry_fds": _host_fds(),
        "rss_kb": _rss_kb(),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def line(label, snap):
    return "live %s: %s" % (label, " ".join("%s=%d" % kv for kv in snap.items()))
