"""Fault injection: make chosen requests complete with what a test asks for.

`pysentry run --inject RULE` (repeatable).  A rule is SELECTOR:ACTION:

  selector  comma-separated; all given must match:
              op=READ            the opcode (any IORING_OP_* name)
              fd=5               sqe->fd
              path=SUBSTR        what sqe->fd names (/proc/<tid>/fd/N) contains SUBSTR
            and which of the matching requests are hit:
              nth=3              the 3rd only
              every=2            every 2nd
              prob=0.1,seed=7    each with probability 0.1, reproducibly from seed
            (none of those: every matching request)
  action    errno=EIO            complete with -EIO without doing the op (any
                                 errno name or number)
            short=N              a read or write moves at most N bytes
            delay=MS             the op is issued MS milliseconds late
            overflow             its CQE goes to the overflow backlog even if the
                                 CQ has room (IORING_SQ_CQ_OVERFLOW is raised; the
                                 program must enter to flush it, as on Linux)
            reorder              an unlinked request's CQE, when it completes
                                 during the io_uring_enter that submits it, is
                                 posted after the others of that submission (the
                                 held ones in reverse order): independent
                                 requests may complete in any order on Linux

e.g. --inject 'op=READ,nth=3:errno=EIO' --inject 'op=WRITE,every=2:short=1'.
The same rules and seed give the same faults; the trace marks every injected
fault.  Linux has no such thing: this is a testing tool, off by default.
With any rule given the C data plane is off (dataplane.py), SQPOLL rings'
included: every request goes the Python way, where the rules apply.
"""
import errno
import os
import random
import time

from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.request import INFLIGHT

# The ops whose transfer goes through rw._transfer_iovs, where short=N cuts
# the iovecs (READV_FIXED/WRITEV_FIXED share it: rw_fixed.py).
_RW_OPS = {abi.OP_READ, abi.OP_WRITE, abi.OP_READV, abi.OP_WRITEV, abi.OP_READ_FIXED,
           abi.OP_WRITE_FIXED, abi.OP_READV_FIXED, abi.OP_WRITEV_FIXED}


class Rule:
    def __init__(self, text):
        if ":" not in text:
            raise ValueError("a rule is SELECTOR:ACTION: %r" % text)
        sel, _, act = text.rpartition(":")
        fields = dict(kv.split("=", 1) for kv in sel.split(",") if kv)
        self.text = text
        self.op = None
        if "op" in fields:
            name = fields.pop("op").upper()
            self.op = getattr(abi, "OP_" + name, None)
            if self.op is None:
                raise ValueError("no such opcode: %s" % name)
        self.fd = int(fields.pop("fd")) if "fd" in fields else None
        self.path = fields.pop("path", None)
        self.nth = int(fields.pop("nth")) if "nth" in fields else None
        self.every = int(fields.pop("every")) if "every" in fields else None
        self.prob = float(fields.pop("prob")) if "prob" in fields else None
        self.random = random.Random(int(fields.pop("seed", "0")))
        if fields:
            raise ValueError("unknown selector %s" % ", ".join(fields))
        kind, _, value = act.partition("=")
        if kind == "errno":
            code = int(value) if value.lstrip("-").isdigit() else getattr(errno, value.upper(), None)
            if code is None:
                raise ValueError("no such errno: %s" % value)
            self.action = ("errno", abs(code))
        elif kind in ("short", "delay"):
            self.action = (kind, int(value))
        elif kind in ("overflow", "reorder") and not value:
            self.action = (kind, 0)
        else:
            raise ValueError("unknown action %r (errno=, short=, delay=, overflow, reorder)"
                             % act)
        self.seen = 0

    def _selects(self, req):
        if self.op is not None and req.opcode != self.op:
            return False
        if self.fd is not None and req.fd != self.fd:
            return False
        if self.path is not None:
            try:
                where = os.readlink("/proc/%d/fd/%d" % (req.task.tid, req.fd))
            except OSError:
                return False
            if self.path not in where:
                return False
        return True

    def hits(self, req):
        if not self._selects(req):
            return False
        self.seen += 1
        if self.nth is not None:
            return self.seen == self.nth
        if self.every is not None:
            return self.seen % self.every == 0
        if self.prob is not None:
            return self.random.random() < self.prob
        return True

    def describe(self):
        kind, value = self.action
        if kind == "errno":
            return "-%s" % errno.errorcode.get(value, value)
        if kind in ("overflow", "reorder"):
            return kind
        return "%s=%d" % (kind, value)


class Injector:
    """The rules of one run, consulted once per request at its first issue."""

    def __init__(self, rules, trace=None):
        self.rules = [Rule(r) for r in rules]
        self.trace = trace

    def fault_for(self, req):
        """The action to apply to req, or None; marks it in the trace."""
        for rule in self.rules:
            if rule.hits(req):
                if rule.action[0] == "short" and req.opcode not in _RW_OPS:
                    continue
                if self.trace is not None:
                    self.trace.injected[(self.trace._ring(req.ring), req.user_data)] = \
                        rule.describe()
                return rule.action
        return None


def before_issue(kernel, req, issue):
    """At req's issue: the result an errno rule gives it; INFLIGHT when a
    delay rule postpones the issue (issue() runs it later); None to go on."""
    kind, value = req.fault
    if kind == "errno":
        return -value
    if kind == "delay":
        req.fault = None          # the late issue runs the op itself

        def late():
            issue(kernel, req)
            req.ring.notify()
        kernel.tracer.call_at(time.monotonic() + value / 1000.0, late)
        return INFLIGHT
    return None


def iovecs(req):
    """The iovecs a read or write moves: cut short if a short rule hit it."""
    if req.fault is not None and req.fault[0] == "short":
        return shorten(req.cmd, req.fault[1])
    return req.cmd


# ring -> CQEs held back by reorder rules during one submission
_held = {}


def reordered(ring, submit_batch):
    """Run one submission, posting the CQEs reorder rules held back last."""
    if ring in _held:
        return submit_batch()
    _held[ring] = held = []
    try:
        return submit_batch()
    finally:
        del _held[ring]
        for args in reversed(held):
            ring.post(*args)


def post_held(ring, req, res):
    """Post req's CQE as its rule says; False if no rule changes how."""
    kind = req.fault[0]
    counts = req.opcode != abi.OP_TIMEOUT
    if kind == "overflow":
        ring.post(req.user_data, res, req.cflags, counts=counts, force_overflow=True,
                  big=req.big_cqe)
        return True
    if kind == "reorder" and ring in _held and len(req.chain or ()) <= 1:
        _held[ring].append((req.user_data, res, req.cflags, counts, False, req.big_cqe))
        return True
    return False


def shorten(iovs, limit):
    """The iovecs cut to at most limit bytes in all (a short read or write)."""
    out = []
    for base, length in iovs:
        if limit <= 0:
            break
        out.append((base, min(length, limit)))
        limit -= length
    return out or [(iovs[0][0], 0)] if iovs else iovs
