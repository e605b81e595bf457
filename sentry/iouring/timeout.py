"""TIMEOUT, TIMEOUT_REMOVE and LINK_TIMEOUT (io_uring/timeout.c).

A TIMEOUT completes with -ETIME when its timer fires, or with 0 once `off`
other completions have been posted since it was queued (completions of
timeouts themselves do not count, as Linux keeps them out of the sequence).
IORING_TIMEOUT_MULTISHOT repeats it (`off` times, or forever if 0), each CQE
but the last flagged IORING_CQE_F_MORE.  A LINK_TIMEOUT bounds the request
linked before it: if that request is still waiting when the timer fires it is
cancelled (-ECANCELED) and the link timeout completes with -ETIME; if the
request finishes first, the link timeout completes with -ECANCELED.
"""
import errno
import struct
import time
from pysentry.sentry.iouring.abi import CQE_F_MORE


TIMEOUT_ABS = 1 << 0
TIMEOUT_UPDATE = 1 << 1
TIMEOUT_BOOTTIME = 1 << 2
TIMEOUT_REALTIME = 1 << 3
LINK_TIMEOUT_UPDATE = 1 << 4
TIMEOUT_ETIME_SUCCESS = 1 << 5
TIMEOUT_MULTISHOT = 1 << 6
CLOCK_MASK = TIMEOUT_BOOTTIME | TIMEOUT_REALTIME
UPDATE_MASK = TIMEOUT_UPDATE | LINK_TIMEOUT_UPDATE
_TS = struct.Struct("<qq")
_CLOCKS = {0: time.CLOCK_MONOTONIC, TIMEOUT_BOOTTIME: time.CLOCK_BOOTTIME,
           TIMEOUT_REALTIME: time.CLOCK_REALTIME}


def _read_ts(req, addr):
    sec, nsec = _TS.unpack(req.task.mem.read(addr, _TS.size))
    if sec < 0 or nsec < 0:
        raise OSError(errno.EINVAL, "negative timespec")
    return sec + nsec / 1e9


def _delay(seconds, flags):
    """Seconds from now until the timer fires (ABS: against the chosen clock)."""
    if flags & TIMEOUT_ABS:
        return max(0.0, seconds - time.clock_gettime(_CLOCKS[flags & CLOCK_MASK]))
    return seconds


class TimeoutCmd:
    """A TIMEOUT's or LINK_TIMEOUT's own state (Linux's struct io_timeout,
    req.cmd): its flags and duration, the armed timer, whether it fired,
    and for a counting TIMEOUT the count, the CQ position it waits for and
    (multishot) how many times it fired."""

    __slots__ = ("flags", "seconds", "timer", "fired", "count", "target", "fired_count",
                 "fired_res")

    def __init__(self, flags, seconds, count=0):
        self.flags, self.seconds, self.count = flags, seconds, count
        self.timer = None
        self.fired = False
        self.fired_res = -errno.ETIME    # a link timeout's result once fired
        self.target = None
        self.fired_count = 0

    def disarm(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _prep_common(req, link):
    if req.buf_index or req.len != 1 or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved timeout fields")
    flags = req.op_flags
    allowed = TIMEOUT_ABS | CLOCK_MASK | TIMEOUT_ETIME_SUCCESS | (0 if link else TIMEOUT_MULTISHOT)
    if flags & ~allowed or bin(flags & CLOCK_MASK).count("1") > 1:
        raise OSError(errno.EINVAL, "bad timeout flags")
    if flags & TIMEOUT_MULTISHOT and flags & TIMEOUT_ABS:
        raise OSError(errno.EINVAL, "a multishot timeout is relative")
    req.cmd = TimeoutCmd(flags, _read_ts(req, req.addr), 0 if link else req.off & 0xFFFFFFFF)


def prep_timeout(req):
    _prep_common(req, link=False)


def prep_link_timeout(req):
    if req.off:
        raise OSError(errno.EINVAL, "a link timeout has no count")
    _prep_common(req, link=True)


# -- TIMEOUT --------------------------------------------------------------------
def issue_timeout(req, kernel):
    from pysentry.sentry.iouring.request import INFLIGHT
    ring = req.ring
    tm = req.cmd
    tm.target = ring.cq_count + tm.count if tm.count else None
    _arm(kernel, req)
    ring.timeouts[req] = True
    return INFLIGHT


def _arm(kernel, req):
    tm = req.cmd
    tm.timer = kernel.tracer.call_at(time.monotonic() + _delay(tm.seconds, tm.flags),
                                     lambda: _fire(kernel, req))


def _fire(kernel, req):
    from pysentry.sentry.iouring import submit
    ring = req.ring
    tm = req.cmd
    tm.timer = None
    if req not in ring.timeouts or ring.closed:
        return
    ring.cq_timeouts += 1
    if tm.flags & TIMEOUT_MULTISHOT:
        tm.fired_count += 1
        if not tm.count or tm.fired_count < tm.count:
            ring.post(req.user_data, -errno.ETIME, CQE_F_MORE, counts=False)
            _arm(kernel, req)
            ring.notify()
            return
    del ring.timeouts[req]
    submit.complete(kernel, req, -errno.ETIME)
    ring.notify()


def flush_counted(kernel, ring):
    """Complete count-based timeouts whose number of completions was reached."""
    from pysentry.sentry.iouring import submit
    for req in list(ring.timeouts):
        tm = req.cmd
        if (tm.target is not None and not tm.flags & TIMEOUT_MULTISHOT
                and ring.cq_count >= tm.target):
            del ring.timeouts[req]
            tm.disarm()
            ring.cq_timeouts += 1
            submit.complete(kernel, req, 0)


def etime_is_success(req, res):
    return (res == -errno.ETIME and isinstance(req.cmd, TimeoutCmd)
            and req.cmd.flags & TIMEOUT_ETIME_SUCCESS)


# -- TIMEOUT_REMOVE ---------------------------------------------------------------
def prep_remove(req):
    if req.buf_index or req.len or req.splice_fd_in:
        raise OSError(errno.EINVAL, "reserved timeout remove fields")
    flags = req.op_flags
    if flags & UPDATE_MASK:
        if bin(flags & UPDATE_MASK).count("1") > 1:
            raise OSError(errno.EINVAL, "one kind of update")
        if flags & ~(UPDATE_MASK | TIMEOUT_ABS | CLOCK_MASK):
            raise OSError(errno.EINVAL, "bad update flags")
        req.cmd = _read_ts(req, req.off)           # the new duration
    elif flags:
        raise OSError(errno.EINVAL, "flags without update")


def issue_remove(req, kernel):
    from pysentry.sentry.iouring import submit
    ring = req.ring
    flags = req.op_flags
    if flags & LINK_TIMEOUT_UPDATE:
        target = next((r for r in ring.link_timeouts if r.user_data == req.addr), None)
        if target is None:
            return -errno.ENOENT
        _update(target.cmd, flags, req.cmd)
        arm_link(kernel, target, ring.link_timeouts[target])
        return 0
    target = next((r for r in ring.timeouts if r.user_data == req.addr), None)
    if target is None:
        return -errno.ENOENT
    if flags & TIMEOUT_UPDATE:
        _update(target.cmd, flags, req.cmd)
        _arm(kernel, target)
        return 0
    target.cmd.disarm()
    del ring.timeouts[target]
    submit.complete(kernel, target, -errno.ECANCELED)
    return 0


def _update(tm, flags, seconds):
    """TIMEOUT_UPDATE / LINK_TIMEOUT_UPDATE: a new duration and clock."""
    tm.disarm()
    tm.flags = (tm.flags & ~(TIMEOUT_ABS | CLOCK_MASK)) | (flags & (TIMEOUT_ABS | CLOCK_MASK))
    tm.seconds = seconds


# -- LINK_TIMEOUT ---------------------------------------------------------------------
def arm_link(kernel, lt, target):
    """Start lt's timer now that the request it guards is being issued;
    False if it already runs or has fired (a request issued again)."""
    tm = lt.cmd
    if tm.timer is not None or tm.fired:
        return False
    lt.ring.link_timeouts[lt] = target
    tm.timer = kernel.tracer.call_at(time.monotonic() + _delay(tm.seconds, tm.flags),
                                     lambda: _fire_link(kernel, lt, target))
    return True


def disarm_link(ring, lt):
    """Take back an arm_link(): the request it guards was not issued after all."""
    ring.link_timeouts.pop(lt, None)
    lt.cmd.disarm()


def _fire_link(kernel, lt, target):
    from pysentry.sentry.iouring import cancel, submit
    lt.cmd.timer = None
    lt.cmd.fired = True
    ring = lt.ring
    if lt not in ring.link_timeouts or ring.closed:
        return
    if cancel.detach(kernel, target):
        # Linux's result is the cancel's: -ETIME for 0, else its count.
        lt.cmd.fired_res = cancel.single_result(target) or -errno.ETIME
        submit.complete(kernel, target, -errno.ECANCELED)
        ring.notify()


def settle_link(ring, lt):
    """The guarded request finished: stop lt's timer; return lt's result."""
    ring.link_timeouts.pop(lt, None)
    lt.cmd.disarm()
    if lt.cmd.fired:
        return lt.cmd.fired_res
    return -errno.ECANCELED


def issue_link_timeout(req, kernel):
    # Reached only when a LINK_TIMEOUT is issued on its own, which submission
    # prevents (it is consumed by the request it guards).
    return -errno.EINVAL


