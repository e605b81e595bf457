"""futex(2) FUTEX_WAKE / FUTEX_WAKE_BITSET and futex_wake(2) of a process
that has a ring: they may have io_uring FUTEX_WAIT / FUTEX_WAITV requests to
wake (sentry/iouring/futex.py).

These calls stop only in processes that have created a ring (the second
seccomp filter, syscalls/waits.py, traces them and only for the wake
commands), and when no futex SQE is waiting anywhere the call goes to the
host unchanged.  Otherwise the Sentry wakes the SQEs waiting on the word
first and lets the host wake the program's threads for the rest of the
count, so the result is the sum, as one futex wake on Linux reports.
"""
from pysentry.platform.tracer import PASSTHROUGH, InjectSyscall
from pysentry.sentry.iouring import futex

FUTEX_WAKE = 1
FUTEX_WAKE_BITSET = 10
FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
# The futex(2) op values the filter stops for (the wake commands, private or not).
TRACED_OPS = (FUTEX_WAKE, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
              FUTEX_WAKE_BITSET, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)

X64_FUTEX = {202: "futex"}
X64_FUTEX_WAKE = {454: "futex_wake"}
I386_FUTEX = {240: "futex", 422: "futex_time64"}
I386_FUTEX_WAKE = {454: "futex_wake"}


def _int(arg):
    arg &= 0xFFFFFFFF
    return arg - (1 << 32) if arg & 0x80000000 else arg


def sys_futex(kernel, task, stop):
    q = kernel.io_uring.futexes
    if q is None or not q.by_key:
        return PASSTHROUGH
    uaddr, op = stop.args[0], stop.args[1] & 0xFFFFFFFF
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if op & FUTEX_CLOCK_REALTIME or cmd not in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        return PASSTHROUGH             # the host's error (ENOSYS) or not a wake
    mask = stop.args[5] & 0xFFFFFFFF if cmd == FUTEX_WAKE_BITSET else futex.BITSET_MATCH_ANY
    flags2 = futex.FUTEX2_SIZE_U32 | (futex.FUTEX2_PRIVATE if op & FUTEX_PRIVATE_FLAG else 0)
    # futex_wake() without FLAGS_STRICT: a count of 0 (or less) wakes one.
    return _wake(kernel, task, stop, q, uaddr, mask, max(_int(stop.args[2]), 1), flags2,
                 lambda rest: (uaddr, op, rest) + tuple(stop.args[3:]))


def sys_futex_wake(kernel, task, stop):
    """futex_wake(uaddr, mask, nr, flags): futex2 flags, FLAGS_STRICT."""
    q = kernel.io_uring.futexes
    if q is None or not q.by_key:
        return PASSTHROUGH
    uaddr, mask, nr, flags2 = stop.args[0], stop.args[1], _int(stop.args[2]), stop.args[3]
    try:
        futex.check_flags(flags2 & 0xFFFFFFFF)
    except OSError:
        return PASSTHROUGH             # the host refuses it itself
    if mask >> 32 or nr == 0:
        return PASSTHROUGH
    return _wake(kernel, task, stop, q, uaddr, mask, max(nr, 1), flags2,
                 lambda rest: (uaddr, mask, rest, flags2))


def _wake(kernel, task, stop, q, uaddr, mask, nr, flags2, args_for):
    if uaddr % 4 or not mask:
        return PASSTHROUGH             # the host's EINVAL
    woken = q.wake(kernel, futex.key(task.tgid, uaddr, flags2), mask, nr)
    if woken == 0:
        return PASSTHROUGH
    if woken >= nr:
        return woken
    return _wake_rest(stop.nr, args_for(nr - woken), woken)


def _wake_rest(nr, args, woken):
    res = yield InjectSyscall(nr, *args)
    return woken + res if res > 0 else woken
