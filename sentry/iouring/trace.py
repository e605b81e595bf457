"""An strace-grade trace of io_uring traffic, and its statistics.

`pysentry run --trace-uring` prints one line per setup, register, enter, SQE
and CQE, in strace's style: opcode names, decoded IOSQE_* flags, fds with
what they name, buffers as strace shows them ("abc"..., 32 bytes at most),
errno names, and each request's latency from submission to completion:

    [io_uring] ring 3 tid 1234 SQE READ(fd=5</tmp/data>, buf=0x7ffd.., len=4096, off=0) user_data=1
    [io_uring] ring 3 CQE READ user_data=1 = 4096 "hello world\\n"... <0.000031>

`--trace-format=json` writes the same events as JSON lines (for tools and
`pysentry report`); `--stats` keeps per-opcode counts, errors and latency
percentiles without printing anything per event (Stats).  A stats-only
trace leaves the C data plane on (dataplane.py): the SQEs it completes are
counted in one line of their own, not per opcode.

A CQE is matched to its SQE by user_data (the oldest request in flight with
that user_data; a multishot request's F_MORE CQEs leave it in flight).
"""
import errno
import json
import os
import random
import statistics
import sys
import time

from pysentry.sentry.iouring import abi
from pysentry.sentry.iouring.opdef import OPS, op_name
from pysentry.sentry.syscalls import numbers

_STR_MAX = 32
_IOSQE = ((abi.IOSQE_FIXED_FILE, "IOSQE_FIXED_FILE"), (abi.IOSQE_IO_DRAIN, "IOSQE_IO_DRAIN"),
          (abi.IOSQE_IO_LINK, "IOSQE_IO_LINK"), (abi.IOSQE_IO_HARDLINK, "IOSQE_IO_HARDLINK"),
          (abi.IOSQE_ASYNC, "IOSQE_ASYNC"), (abi.IOSQE_BUFFER_SELECT, "IOSQE_BUFFER_SELECT"),
          (abi.IOSQE_CQE_SKIP_SUCCESS, "IOSQE_CQE_SKIP_SUCCESS"))
_CQE_F = ((abi.CQE_F_BUFFER, "F_BUFFER"), (abi.CQE_F_MORE, "F_MORE"),
          (abi.CQE_F_SOCK_NONEMPTY, "F_SOCK_NONEMPTY"), (abi.CQE_F_NOTIF, "F_NOTIF"),
          (abi.CQE_F_32, "F_32"))
# Ops whose data is worth showing: (reads into addr, writes from addr)
_READS = {abi.OP_READ, abi.OP_READ_FIXED, abi.OP_RECV}
_WRITES = {abi.OP_WRITE, abi.OP_WRITE_FIXED, abi.OP_SEND}
_RW = _READS | _WRITES | {abi.OP_READV, abi.OP_WRITEV}


def flag_names(flags, table):
    names = [name for bit, name in table if flags & bit]
    rest = flags & ~sum(bit for bit, _ in table)
    if rest:
        names.append("%#x" % rest)
    return "|".join(names) or "0"


def errno_str(res):
    if res >= 0:
        return str(res)
    name = errno.errorcode.get(-res)
    return "-%s (%s)" % (name, os.strerror(-res)) if name else str(res)


def quote(data, complete):
    """strace's way of showing a buffer: C escapes, cut at _STR_MAX with '...'."""
    out = []
    for b in data[:_STR_MAX]:
        c = chr(b)
        if c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % b)
    return '"%s"%s' % ("".join(out), "" if complete and len(data) <= _STR_MAX else "...")


class _InFlight:
    __slots__ = ("req", "opcode", "name", "t0", "addr", "task", "fd")

    def __init__(self, req):
        self.req = req
        self.opcode = req.opcode
        self.name = op_name(req.opcode)
        self.t0 = time.monotonic()
        self.addr = req.addr
        self.task = req.task
        self.fd = req.fd


class Stats:
    """strace -c for io_uring: per opcode, how many, how many failed, and the
    latency from submission to completion; SQEs per io_uring_enter."""

    # Latencies kept per opcode: beyond this a uniform sample of them
    # (reservoir sampling), so --stats on a long run stays bounded in memory;
    # the median and p99 are then those of the sample.
    SAMPLE = 2048

    def __init__(self):
        self.latency = {}       # op name -> [seconds] (a sample once past SAMPLE)
        self.calls = {}
        self.errors = {}
        self.enters = 0
        self.sqes = 0
        self._rand = random.Random(0)

    def completed(self, name, res, seconds):
        n = self.calls.get(name, 0) + 1
        self.calls[name] = n
        lat = self.latency.setdefault(name, [])
        if len(lat) < self.SAMPLE:
            lat.append(seconds)
        else:
            slot = self._rand.randrange(n)
            if slot < self.SAMPLE:
                lat[slot] = seconds
        if res < 0:
            self.errors[name] = self.errors.get(name, 0) + 1

    def lines(self, syscalls, dataplane=(0, 0)):
        """The table; dataplane: (SQEs the C data plane completed in
        io_uring_enter, in SQ threads[, io_uring_enter calls the C trap
        step served whole]) -- those SQEs never reach this trace, so they
        are counted apart, and in the SQE total."""
        out = ["%-16s %8s %7s %11s %11s" % ("opcode", "calls", "errors", "median us", "p99 us")]
        for name, lat in sorted(self.latency.items(), key=lambda kv: -self.calls[kv[0]]):
            lat = sorted(lat)
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            out.append("%-16s %8d %7d %11.1f %11.1f" % (
                name, self.calls[name], self.errors.get(name, 0), statistics.median(lat) * 1e6,
                p99 * 1e6))
        traps = sum(syscalls.values())
        in_enter, in_sqthread = dataplane[:2]
        in_trap = dataplane[2] if len(dataplane) > 2 else 0
        sqes = self.sqes + in_enter + in_sqthread
        out.append("io_uring_enter calls: %d, SQEs: %d, SQEs per enter: %.2f" % (
            self.enters, sqes, sqes / self.enters if self.enters else 0.0))
        out.append("data plane: %d SQEs in C (enter %d, SQ thread %d), not in the table above"
                   % (in_enter + in_sqthread, in_enter, in_sqthread))
        out.append("io_uring_enter served whole in C by the trap step: %d" % in_trap)
        out.append("trapped syscalls: %d" % traps)
        for name, count in sorted(syscalls.items(), key=lambda kv: -kv[1]):
            out.append("  %-20s %d" % (name, count))
        return out


class UringTrace:
    """The sink of io_uring events.  out: where lines go (None: count only,
    for --stats); fmt: "text" or "json"."""

    def __init__(self, out=None, fmt="text", stats=None):
        self.out = out
        self.fmt = fmt
        self.stats = stats
        self.inflight = {}      # (ring id, user_data) -> [_InFlight]
        self.rings = 0          # trace ids given so far
        self.injected = {}      # (ring id, user_data) -> fault description (inject.py)

    def _ring(self, ring):
        # The id lives on the ring: a table keyed by id(ring) grew with every
        # ring ever made and gave a new ring a dead one's number when Python
        # reused the address.
        rid = ring.trace_id
        if rid is None:
            self.rings += 1
            rid = ring.trace_id = self.rings
        return rid

    def _emit(self, text, **event):
        if self.out is None:
            return
        if self.fmt == "json":
            event["t"] = round(time.monotonic(), 6)
            self.out.write(json.dumps(event) + "\n")
        else:
            self.out.write("[io_uring] " + text + "\n")
        self.out.flush()

    def setup(self, ring, task):
        self._emit("ring %d tid %d setup(sq_entries=%d, cq_entries=%d, flags=%s)"
                   % (self._ring(ring), task.tid, ring.sq_entries, ring.cq_entries,
                      abi.setup_flag_names(ring.flags)),
                   ev="setup", ring=self._ring(ring), tid=task.tid,
                   sq_entries=ring.sq_entries, cq_entries=ring.cq_entries, flags=ring.flags)

    def setup_failed(self, task, entries, flags, res):
        self._emit("tid %d setup(entries=%d, flags=%s) = %s"
                   % (task.tid, entries, abi.setup_flag_names(flags), errno_str(res)),
                   ev="setup", tid=task.tid, entries=entries, flags=flags, res=res)

    def register(self, task, opcode, nr_args, res):
        name = abi.register_name(opcode & 0xFF)
        self._emit("tid %d register(%s, nr_args=%d) = %s"
                   % (task.tid, name, nr_args, errno_str(res)),
                   ev="register", tid=task.tid, op=name, nr_args=nr_args, res=res)

    def enter(self, task, fd, to_submit, min_complete, flags):
        if self.stats is not None:
            self.stats.enters += 1
        self._emit("tid %d enter(fd=%d, to_submit=%d, min_complete=%d, flags=%#x)"
                   % (task.tid, fd, to_submit, min_complete, flags),
                   ev="enter", tid=task.tid, fd=fd, to_submit=to_submit,
                   min_complete=min_complete, flags=flags)

    def _fd(self, task, fd, flags):
        if flags & abi.IOSQE_FIXED_FILE:
            return "fixed:%d" % fd
        if fd < 0:
            return str(fd) if fd != -100 else "AT_FDCWD"
        try:
            return "%d<%s>" % (fd, os.readlink("/proc/%d/fd/%d" % (task.tid, fd)))
        except OSError:
            return str(fd)

    def sqe(self, ring, req):
        key = (self._ring(ring), req.user_data)
        self.inflight.setdefault(key, []).append(_InFlight(req))
        if self.stats is not None:
            self.stats.sqes += 1
        if self.out is None:
            return
        name = op_name(req.opcode) + ("" if req.opcode in OPS else "(unimplemented)")
        args = ["fd=%s" % self._fd(req.task, req.fd, req.flags)]
        if req.opcode in _RW:
            args.append("buf=%#x, len=%d" % (req.addr, req.len))
            off = numbers.signed64(req.off)
            args.append("off=%s" % ("-1 (file position)" if off == -1 else off))
            if req.opcode in _WRITES:
                try:
                    args.append("data=" + quote(req.task.mem.read(req.addr, min(req.len, _STR_MAX)),
                                                req.len <= _STR_MAX))
                except OSError:
                    pass
        else:
            args.append("off=%d, addr=%#x, len=%d" % (numbers.signed64(req.off), req.addr, req.len))
        self._emit("ring %d tid %d SQE %s(%s) flags=%s user_data=%d"
                   % (key[0], req.task.tid, name, ", ".join(args),
                      flag_names(req.flags, _IOSQE), req.user_data),
                   ev="sqe", ring=key[0], tid=req.task.tid, op=name, fd=req.fd,
                   flags=req.flags, off=numbers.signed64(req.off), addr=req.addr, len=req.len,
                   user_data=req.user_data)

    def closed(self, ring):
        """The ring is gone: its requests that never completed (cancelled
        with it, no CQE) are forgotten, or a program that closes busy rings
        would grow the in-flight table forever."""
        rid = self._ring(ring)
        dropped = 0
        for key in [k for k in self.inflight if k[0] == rid]:
            dropped += len(self.inflight.pop(key))
        for key in [k for k in self.injected if k[0] == rid]:
            del self.injected[key]
        self._emit("ring %d closed, %d requests without a CQE" % (rid, dropped),
                   ev="close", ring=rid, dropped=dropped)

    def cqe(self, ring, user_data, res, flags, big=None):
        """big: a 32-byte CQE's big_cqe[] as its op set them (IORING_NOP_CQE32),
        shown as extra=...; the zeros of other CQEs on a CQE32 ring are not."""
        key = (self._ring(ring), user_data)
        pending = self.inflight.get(key)
        entry = pending[0] if pending else None
        if entry is not None and not flags & abi.CQE_F_MORE:
            pending.pop(0)
            if not pending:
                del self.inflight[key]
        seconds = time.monotonic() - entry.t0 if entry is not None else None
        name = entry.name if entry is not None else "-"
        if self.stats is not None and seconds is not None:
            self.stats.completed(name, res, seconds)
        fault = self.injected.pop(key, None)
        if self.out is None:
            return
        data = ""
        if entry is not None and entry.opcode in _READS and res > 0:
            try:
                data = " " + quote(entry.task.mem.read(entry.addr, min(res, _STR_MAX)),
                                   res <= _STR_MAX)
            except OSError:
                pass
        self._emit("ring %d CQE %s user_data=%d = %s%s%s%s%s%s"
                   % (key[0], name, user_data, errno_str(res), data,
                      " flags=%s" % flag_names(flags, _CQE_F) if flags else "",
                      " extra=%#x,%#x" % big if big is not None else "",
                      " <%.6f>" % seconds if seconds is not None else "",
                      " (injected: %s)" % fault if fault else ""),
                   ev="cqe", ring=key[0], op=name, user_data=user_data, res=res, flags=flags,
                   **({"extra": list(big)} if big is not None else {}),
                   latency=round(seconds, 9) if seconds is not None else None,
                   injected=fault)


def open_sink(path):
    return open(path, "w") if path else sys.stderr
