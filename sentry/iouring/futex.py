"""FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAITV (Linux's io_uring/futex.c) on the
program's own memory.

A futex lives in the host kernel's hash of waiters, keyed by the waiting
process's address space; the Sentry is another process and cannot join a
private futex queue there.  So the Sentry keeps its own queue of waiting
SQEs (FutexQueue, one per sandbox) and joins the two worlds at the wakes:

* A FUTEX_WAKE SQE first wakes the SQEs waiting in the Sentry's queue, then,
  for the rest of its count, injects futex_wake(2) into the submitting
  thread (task work): the host wakes the program's threads blocked in
  futex(2) on that word, with the host's own errnos for the address.
* A futex(2) FUTEX_WAKE / FUTEX_WAKE_BITSET or futex_wake(2) of the program
  stops in the Sentry (once the process has a ring: the second seccomp
  filter of syscalls/waits.py traces them, and only them), which wakes the
  SQEs waiting on that word first and lets the host run the call for what
  is left of the count (syscalls/futex.py).
* A FUTEX_WAIT SQE reads the word when issued: a different value is
  -EAGAIN, as futex_wait_setup() returns; otherwise it waits in the queue.
  The Sentry serves one stop at a time, so no wake can slip between the
  check and the queueing.

Keys are (process, address, private): Linux keys a private futex by
(mm, address) and a shared one on anonymous memory by (mm, address) marked
shared, so a private wake never wakes a shared wait and vice versa -- the
same holds here.  Where this differs from Linux (docs/io_uring.md): a
shared futex in memory shared with another process is woken only from the
same process; FUTEX_WAKE_OP, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, PI unlocks and
the kernel's CLONE_CHILD_CLEARTID wake at thread exit do not wake SQEs; a
wake of fewer waiters than are waiting wakes the SQEs before the threads,
where Linux wakes in arrival order; FUTEX2_NUMA and FUTEX2_MPOL are refused
with -EINVAL.
"""
import errno
import struct

from pysentry.platform.tracer import InjectSyscall
from pysentry.sentry.iouring import abi, taskwork
from pysentry.sentry.iouring.request import INFLIGHT
from pysentry.sentry.syscalls import numbers

FUTEX2_SIZE_MASK = 0x03
FUTEX2_SIZE_U32 = 0x02
FUTEX2_NUMA = 0x04
FUTEX2_MPOL = 0x08
FUTEX2_PRIVATE = 0x80
FUTEX2_VALID_MASK = FUTEX2_SIZE_MASK | FUTEX2_NUMA | FUTEX2_MPOL | FUTEX2_PRIVATE
BITSET_MATCH_ANY = 0xFFFFFFFF
WAITV_MAX = 128
_WAITV = struct.Struct("<QQII")       # struct futex_waitv: val, uaddr, flags, __reserved
_U32 = struct.Struct("<I")


class FutexQueue:
    """The Sentry's waiting futex SQEs: key -> [_Waiter] in arrival order."""

    def __init__(self):
        self.by_key = {}

    def wake(self, kernel, key, mask, nr):
        """Wake up to nr SQEs waiting on key whose bitset meets mask; return
        how many."""
        waiters = self.by_key.get(key)
        woken = 0
        while waiters and woken < nr:
            w = next((w for w in waiters if w.mask & mask), None)
            if w is None:
                break
            w.watch.fire(kernel, w.index)
            woken += 1
            waiters = self.by_key.get(key)
        return woken


class _Waiter:
    __slots__ = ("watch", "index", "mask")

    def __init__(self, watch, index, mask):
        self.watch, self.index, self.mask = watch, index, mask


class _Watch:
    """A waiting request's entries in the queue.  It sits in ring.multishot
    (the table of requests that complete themselves), whose close() is how
    cancellation (cancel.detach), exit and ring teardown take it back."""
    __slots__ = ("queue", "req", "entries")

    def __init__(self, queue, req):
        self.queue, self.req, self.entries = queue, req, []

    def add(self, key, index, mask):
        w = _Waiter(self, index, mask)
        self.queue.by_key.setdefault(key, []).append(w)
        self.entries.append((key, w))

    def close(self):
        for key, w in self.entries:
            lst = self.queue.by_key.get(key)
            if lst is not None:
                lst.remove(w)
                if not lst:
                    del self.queue.by_key[key]
        self.entries = []

    def fire(self, kernel, index):
        """Woken: FUTEX_WAIT completes with 0, FUTEX_WAITV with the index
        of the futex that was woken.  Within a submission the waker's own
        CQE comes first, as Linux completes the woken one by task work."""
        from pysentry.sentry.iouring import submit
        req = self.req
        req.ring.multishot.pop(req, None)
        self.close()
        res = index if req.opcode == abi.OP_FUTEX_WAITV else 0
        if req.ring.submitting:
            req.ring.batch_work.append((req, res))
        else:
            submit.complete(kernel, req, res)
            req.ring.notify()


def queue_of(kernel):
    q = kernel.io_uring.futexes
    if q is None:
        q = kernel.io_uring.futexes = FutexQueue()
    return q


def key(tgid, uaddr, flags2):
    return (tgid, uaddr, bool(flags2 & FUTEX2_PRIVATE))


def check_flags(flags2):
    """futex2 flags as io_futex_prep and futex_flags_valid() take them."""
    if flags2 & ~FUTEX2_VALID_MASK:
        raise OSError(errno.EINVAL, "unknown futex2 flags")
    if flags2 & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32:
        raise OSError(errno.EINVAL, "only 32-bit futexes")
    if flags2 & (FUTEX2_NUMA | FUTEX2_MPOL):
        # Linux reads (and may write) a node id beside the word: not served.
        raise OSError(errno.EINVAL, "NUMA futexes are not implemented")


class FutexCmd:
    __slots__ = ("uaddr", "val", "mask", "flags", "waitv")

    def __init__(self, uaddr, val, mask, flags, waitv=None):
        self.uaddr, self.val, self.mask, self.flags, self.waitv = uaddr, val, mask, flags, waitv


def prep(req):
    """FUTEX_WAIT/FUTEX_WAKE (io_futex_prep): addr the word, addr2 (sqe->off)
    the value or wake count, addr3 the bitset, fd the futex2 flags."""
    if req.len or req.op_flags or req.buf_index or req.file_index:
        raise OSError(errno.EINVAL, "reserved futex fields")
    flags = req.fd & 0xFFFFFFFF
    check_flags(flags)
    if req.off >> 32 or req.addr3 >> 32:
        raise OSError(errno.EINVAL, "value or mask wider than the futex")
    req.cmd = FutexCmd(req.addr, req.off, req.addr3, flags)


def prep_waitv(req):
    """FUTEX_WAITV (io_futexv_prep): addr the futex_waitv array, len its
    count (1..128); the array is read and checked now."""
    if (req.fd or req.buf_index or req.file_index or req.off or req.op_flags
            or req.addr3):
        raise OSError(errno.EINVAL, "reserved futexv fields")
    if not req.len or req.len > WAITV_MAX:
        raise OSError(errno.EINVAL, "bad futex count")
    raw = req.task.mem.read(req.addr, _WAITV.size * req.len)
    waitv = []
    for val, uaddr, flags, resv in _WAITV.iter_unpack(raw):
        if resv:
            raise OSError(errno.EINVAL, "reserved futex_waitv field")
        check_flags(flags)
        if val >> 32:
            raise OSError(errno.EINVAL, "value wider than the futex")
        waitv.append((uaddr, val, flags))
    req.cmd = FutexCmd(0, 0, BITSET_MATCH_ANY, 0, waitv)


def _word(req, uaddr):
    """The futex word, as futex_wait_setup() gets it: misaligned -EINVAL,
    unreadable -EFAULT."""
    if uaddr % 4:
        raise OSError(errno.EINVAL, "misaligned futex")
    return _U32.unpack(req.task.mem.read(uaddr, 4))[0]


def issue_wait(req, kernel):
    c = req.cmd
    if c.waitv is None:
        if _word(req, c.uaddr) != c.val:
            return -errno.EAGAIN
        futexes = [(c.uaddr, c.flags, c.mask)]
    else:
        for uaddr, val, _flags in c.waitv:
            if _word(req, uaddr) != val:
                return -errno.EAGAIN
        futexes = [(uaddr, flags, BITSET_MATCH_ANY) for uaddr, _val, flags in c.waitv]
    watch = _Watch(queue_of(kernel), req)
    for i, (uaddr, flags, mask) in enumerate(futexes):
        watch.add(key(req.task.tgid, uaddr, flags), i, mask)
    req.ring.multishot[req] = watch
    return INFLIGHT


def issue_wake(req, kernel):
    c = req.cmd
    woken = 0
    if c.uaddr % 4 == 0 and c.mask:
        woken = queue_of(kernel).wake(kernel, key(req.task.tgid, c.uaddr, c.flags), c.mask,
                                      c.val)
        if woken >= c.val:
            return woken      # a count of 0 wakes none (Linux's FLAGS_STRICT)
    # (A misaligned word or an empty mask: the host's futex_wake(2) says so.)
    # The rest of the count goes to the threads blocked in futex(2), woken
    # by the host from inside the program (its address space is the key).
    return taskwork.queue(kernel, req, lambda k, t, r: _wake_in_task(t, r, woken))


def _wake_in_task(task, req, woken):
    c = req.cmd
    res = yield InjectSyscall(numbers.injected(task.stop_abi, "futex_wake"), c.uaddr, c.mask,
                              c.val - woken, c.flags)
    if res < 0:
        return woken or res
    return woken + res
