#!/usr/bin/env python3
"""pysentry benchmark: 4 KiB random reads from a file in the page cache,
and the cost of one trapped syscall.

One run measures three ways of reading -- pread(2) in a loop ("psync"), and
io_uring at queue depth 1 and 32 (liburing, refill every free slot, one
io_uring_submit_and_wait per batch) -- each natively, under
`python -m pysentry run --` (CPU placement on: the default) and under
`python -m pysentry run --cpu-policy none --` (the Sentry placed by the host
scheduler alone, as before placement existed), and prints them side by side:

  rows     psync, uring qd1, uring qd32
  columns  native IOPS, sandbox IOPS, sandbox IOPS with --cpu-policy none,
           sandbox / native

then the latency of one trapped syscall, from a loop of 20,000 (sysloop.c):
the floor any ptrace+seccomp sandbox pays (floor_tracer.c: SECCOMP_RET_TRACE,
waitpid, PTRACE_CONT) with the tracer and program free to run anywhere and
both pinned to one CPU (taskset), then pysentry: pread(2) of a regular
file, which the host runs in the program (sentry/syscalls/file_io.py), and
read(2) of /dev/zero, passed through to the host likewise, with and without
placement and with the C trap step off (PYSENTRY_TRAP_STEP=0: every stop
dispatched in Python); and, to keep the cost of serving a call visible,
the same pread served by the Sentry itself (PYSENTRY_SERVE_FILES=1: its
pread on its own fd and process_vm_writev to the program, as before
regular files were passed to the host); each against the pinned floor.

followed by the ratios that matter, judged the way Linux judges io_uring:
io_uring against the synchronous syscall *in the same environment*
(uring qd1 / psync and uring qd32 / psync, natively and in the sandbox).

Each cell is the BEST (highest IOPS) of --repeat runs (--stat median for the
median); best, median and every sample are kept in the --json output.  Runs are interleaved round-robin so
that background load hits every cell alike.  IOPS come from the program's
own clock around the timed loop (pysentry start-up and ring setup are not
counted); every read is verified against the block it was issued for.

If a sandbox run fails or times out, its error is printed, the cell reads
FAILED, its remaining repeats are skipped, and the exit status is 1.

Then an epoll-driven ring (tools/bench_epoll.py; skipped with --no-latency):
the ring fd in an epoll set, one NOP per round, natively and sandboxed --
rounds/s, epoll_wait calls per round, CPU per round and CPU spent during a
500 ms wait, the Sentry's included, which shows whether anything spins.

Then real clients (tools/bench_clients.py): fio psync, io_uring QD32 with
fio's defaults, batched (32 submitted, 16 reaped per call) and SQPOLL (fixed
buffers and files), SQPOLL in two processes at once, SQPOLL confined to one
CPU (taskset) as one process and as two at once on CPUs 0 and 1 (the
scaling row: aggregate / one, natively and sandboxed), and qemu-img bench with
io_uring and with threads -- natively, under pysentry and
under pysentry with the C data plane off (PYSENTRY_DATAPLANE=0: every SQE
through Python, as before it existed) -- each cell the median of
--fio-rounds interleaved runs (fio runs last --fio-secs seconds), then the
data-plane targets.  Defaults: 5 runs, 2 s (about 5 minutes); --fio-rounds 3
--fio-secs 1 for a quick look, --no-fio to skip, --fio-only to run only fio
(rows whose name contains the given text, "" for all), --chart FILE.png
for a bar chart (needs matplotlib).

Options can also be given in the environment (flags win):
  PYSENTRY_BENCH_OPS_NATIVE, PYSENTRY_BENCH_OPS_SANDBOX, PYSENTRY_BENCH_REPEAT,
  PYSENTRY_BENCH_TIMEOUT, PYSENTRY_BENCH_BUDGET, PYSENTRY_BENCH_FILE,
  PYSENTRY_BENCH_FIO_ROUNDS, PYSENTRY_BENCH_FIO_SECS, PYSENTRY_BENCH_FIO (0: skip fio)
"""
import argparse
import ctypes
import datetime
import json
import os
import platform as py_platform  # the stdlib module, not pysentry's platform/
import shlex
import signal
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.path.join(REPO, "build", "bench")
BLOCK = 4096
MAGIC = b"PSBENCH\0"

# (row label, randread mode, queue depth)
CASES = [("psync", "psync", 1), ("uring qd1", "uring", 1), ("uring qd32", "uring", 32)]
WHERE = ("native", "sandbox", "sandbox-none")
LAT_CALLS = 20000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def env_num(name, default, kind=int):
    v = os.environ.get(name)
    return kind(v) if v not in (None, "") else default


# ---------------------------------------------------------------- build

def build(cc, name="randread"):
    """Compile tools/bench/<name>.c into build/bench/ (again only if the
    source changed)."""
    os.makedirs(BUILD, exist_ok=True)
    src = os.path.join(HERE, "bench", name + ".c")
    out = os.path.join(BUILD, name)
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    cmd = [cc, "-O2", "-Wall", "-Wextra", "-o", out, src, "-luring", "-lpthread"]
    log("build: " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    return out


# ---------------------------------------------------------------- test file

def block_header(i):
    return MAGIC + struct.pack("<Q", i)


def file_ok(path, size):
    """Right size and the per-block headers randread --verify expects."""
    try:
        if os.path.getsize(path) != size:
            return False
        nblocks = size // BLOCK
        with open(path, "rb") as f:
            for i in sorted({0, 1, nblocks // 3, nblocks // 2, nblocks - 1}):
                f.seek(i * BLOCK)
                if f.read(16) != block_header(i):
                    return False
        return True
    except OSError:
        return False


def make_file(path, mib):
    """A regular file of `mib` MiB: every 4 KiB block is "PSBENCH\\0", its
    index (u64 LE), then random bytes.  Rewritten only if missing or stale."""
    size = mib << 20
    if file_ok(path, size):
        return False
    log("file: writing %s (%d MiB)" % (path, mib))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    per_chunk = (1 << 20) // BLOCK
    with open(tmp, "wb") as f:
        for chunk in range(mib):
            data = bytearray(os.urandom(1 << 20))
            for j in range(per_chunk):
                data[j * BLOCK:j * BLOCK + 16] = block_header(chunk * per_chunk + j)
            f.write(data)
    os.replace(tmp, path)
    return True


def warm(path):
    """Read the whole file once so it sits in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def resident_fraction(path):
    """Fraction of the file's pages in the page cache (mincore), or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                              ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        size = os.path.getsize(path)
        page = os.sysconf("SC_PAGE_SIZE")
        npages = (size + page - 1) // page
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
            if addr in (None, ctypes.c_void_p(-1).value):
                return None
            try:
                vec = (ctypes.c_ubyte * npages)()
                if libc.mincore(addr, size, vec) != 0:
                    return None
                return sum(b & 1 for b in vec) / npages
            finally:
                libc.munmap(addr, size)
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        return None


# ---------------------------------------------------------------- running

class RunFailed(Exception):
    pass


def parse_line(out):
    """The last `mode=... iops=...` (randread) or `mode=... us_per_call=...`
    (sysloop) line of stdout, as a dict."""
    for line in reversed(out.splitlines()):
        if line.startswith("mode=") and ("iops=" in line or "us_per_call=" in line):
            return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    return None


def run_once(cmd, ops, timeout):
    """Run one measurement; return the parsed result line or raise RunFailed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.monotonic()
    # Own session, so a timeout can take down pysentry and its tracee together.
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        raise RunFailed("timed out after %.0f s%s" % (timeout, tail(err)))
    wall = time.monotonic() - t0
    res = parse_line(out)
    if proc.returncode != 0:
        raise RunFailed("exit status %d%s" % (proc.returncode, tail(err or out)))
    if res is None:
        raise RunFailed("no result line in output%s" % tail(out + err))
    try:
        res = {k: (float(v) if k in ("secs", "us_per_call") else int(v) if v.lstrip("-").isdigit()
                   else v) for k, v in res.items()}
        if "us_per_call" in res:
            if res["calls"] != ops:
                raise RunFailed("asked for %d calls, program reports %s" % (ops, res["calls"]))
            res["wall"] = round(time.monotonic() - t0, 3)
            return res
        if res["ops"] != ops:
            raise RunFailed("asked for %d ops, program reports %s" % (ops, res["ops"]))
        if res.get("verified") != ops:
            raise RunFailed("only %s of %d reads verified" % (res.get("verified"), ops))
    except (KeyError, ValueError) as e:
        raise RunFailed("malformed result line (%s)%s" % (e, tail(out)))
    res["wall"] = round(wall, 3)
    return res


def tail(text, n=800):
    text = (text or "").strip()
    if not text:
        return ""
    if len(text) > n:
        text = "..." + text[-n:]
    return ":\n    " + text.replace("\n", "\n    ")


# ---------------------------------------------------------------- formatting

def fmt_iops(v):
    return "FAILED" if v is None else "{:,}".format(v)


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r >= 0.095:
        return "%.2fx" % r
    return "%.2gx (1/%.0f)" % (r, 1 / r)


def _table_text(header, rows, widths):
    fmt = "%-*s" + " %*s" * (len(header) - 1)
    out = []
    for r in [header] + list(rows):
        vals = []
        for w, v in zip(widths, r):
            vals += [w, v]
        out.append(fmt % tuple(vals))
    return out


def render_text(rows, keys, lat_rows, lat_keys, meta):
    lines = _table_text(("4K randread", "native IOPS", "sandbox IOPS", "cpu-policy none",
                         "sandbox / native"), rows, (14, 14, 14, 16, 18))
    lines.append("")
    lines += _table_text(("ratio within one env", "native", "sandbox", "cpu-policy none"), keys,
                         (30, 10, 10, 16))
    if lat_rows:
        lines.append("")
        lines += _table_text(("per trapped syscall (%d-call loop)" % meta["lat_calls"], "us/call",
                              "/ pinned floor"), lat_rows, (56, 10, 15))
        lines.append("")
        lines += _table_text(("latency ratio", "value"), lat_keys, (56, 10))
    lines.append("")
    lines.append("%s of %d runs per cell; %d ops native, %d ops sandbox; "
                 "4 KiB reads, %d MiB page-cached file" % (meta["statistic"], meta["repeat"], meta["ops_native"],
                                                           meta["ops_sandbox"], meta["size_mib"]))
    return "\n".join(lines)


def render_markdown(rows, keys, lat_rows, lat_keys, meta):
    lines = ["Measured %s on %s (%d CPUs, Linux %s, Python %s); %s of %d runs per "
             "cell, %d reads natively and %d in the sandbox, 4 KiB at random aligned "
             "offsets in a %d MiB file in the page cache."
             % (meta["date"], meta["cpu"], meta["cpus"], meta["kernel"], meta["python"],
                meta["statistic"], meta["repeat"], meta["ops_native"], meta["ops_sandbox"], meta["size_mib"]),
             "",
             "| 4 KiB random read | native IOPS | pysentry IOPS | pysentry, `--cpu-policy none` | pysentry / native |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s |" % r)
    lines += ["", "| ratio within one environment | native | pysentry | pysentry, `none` |",
              "|---|---:|---:|---:|"]
    for k in keys:
        lines.append("| %s | %s | %s | %s |" % k)
    if lat_rows:
        lines += ["", "| per trapped syscall, loop of %d | µs per call | / pinned C floor |"
                  % meta["lat_calls"], "|---|---:|---:|"]
        for r in lat_rows:
            lines.append("| %s | %s | %s |" % r)
        lines += ["", "| latency ratio | value |", "|---|---:|"]
        for k in lat_keys:
            lines.append("| %s | %s |" % k)
    return "\n".join(lines)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return py_platform.machine()


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default=os.environ.get("PYSENTRY_BENCH_FILE",
                                                     "/var/tmp/pysentry-bench.dat"),
                    help="test file (regular file; default %(default)s)")
    ap.add_argument("--size-mib", type=int, default=64, help="test file size (default 64)")
    ap.add_argument("--ops-native", type=int, default=env_num("PYSENTRY_BENCH_OPS_NATIVE", 200000),
                    help="timed reads per native run (default %(default)s)")
    ap.add_argument("--ops-sandbox", type=int, default=env_num("PYSENTRY_BENCH_OPS_SANDBOX", 5000),
                    help="timed reads per sandbox run (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed reads before each timed loop (default ops/10)")
    ap.add_argument("--repeat", type=int, default=env_num("PYSENTRY_BENCH_REPEAT", 3),
                    help="runs per cell, the best is reported (default %(default)s)")
    ap.add_argument("--stat", choices=("best", "median"), default="best",
                    help="what a cell shows of its runs (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=env_num("PYSENTRY_BENCH_TIMEOUT", 40.0, float),
                    help="seconds before one run is killed (default %(default)s)")
    ap.add_argument("--budget", type=float, default=env_num("PYSENTRY_BENCH_BUDGET", 150.0, float),
                    help="seconds for all sandbox runs together; once spent, cells keep "
                         "the runs they have and cells without one are FAILED "
                         "(default %(default)s)")
    ap.add_argument("--sandbox-cmd", default="%s -m pysentry run --" % shlex.quote(sys.executable),
                    help="command prefix for sandboxed runs (default: %(default)s)")
    ap.add_argument("--native-only", action="store_true", help="skip the sandbox columns")
    ap.add_argument("--no-latency", action="store_true",
                    help="skip the per-syscall latency rows")
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--markdown", action="store_true",
                    help="print markdown tables (for docs/performance.md) instead of text")
    ap.add_argument("--fio-rounds", type=int, default=env_num("PYSENTRY_BENCH_FIO_ROUNDS", 5),
                    help="interleaved runs per fio cell, the median is reported "
                         "(default %(default)s)")
    ap.add_argument("--fio-secs", type=int, default=env_num("PYSENTRY_BENCH_FIO_SECS", 2),
                    help="seconds per fio run (default %(default)s)")
    ap.add_argument("--no-fio", action="store_true",
                    default=os.environ.get("PYSENTRY_BENCH_FIO") == "0",
                    help="skip the fio rows")
    ap.add_argument("--fio-only", metavar="TEXT", default=None,
                    help="run only the fio rows whose name contains TEXT (\"\" for all)")
    ap.add_argument("--chart", metavar="FILE.png",
                    help="also draw the fio table as a bar chart (needs matplotlib)")
    ap.add_argument("--doc", metavar="FILE.md",
                    help="write the tables (markdown) into FILE between its '<!-- bench:begin -->' "
                         "and '<!-- bench:end -->' lines (docs/performance.md; `make bench-doc`)")
    args = ap.parse_args()
    if args.doc:
        args.markdown = True
    if args.repeat < 1 or args.ops_native < 1 or args.ops_sandbox < 1:
        ap.error("--repeat and --ops-* must be >= 1")

    make_file(args.file, args.size_mib)
    warm(args.file)
    if args.fio_only is not None:
        return run_fio(args)
    prog = build(args.cc)
    res_frac = resident_fraction(args.file)
    if res_frac is not None:
        log("file: %s, %.0f%% in the page cache" % (args.file, 100 * res_frac))
        if res_frac < 0.99:
            log("warning: the test file is not fully cached; figures include disk reads")

    sandbox_prefix = shlex.split(args.sandbox_cmd)
    # The same sandbox with placement off: what the Sentry did before it.
    none_prefix = (sandbox_prefix[:-1] + ["--cpu-policy", "none", "--"]
                   if sandbox_prefix[-1:] == ["--"] else None)
    prefixes = {"sandbox": sandbox_prefix, "sandbox-none": none_prefix}
    wheres = ("native",) if args.native_only else tuple(w for w in WHERE
                                                        if w == "native" or prefixes[w])
    cells = {}  # (label, where) -> {"samples": [...], "error": str|None, "cmd": [...]}
    for label, mode, qd in CASES:
        for where in wheres:
            ops = args.ops_native if where == "native" else args.ops_sandbox
            warmup = args.warmup if args.warmup is not None else ops // 10
            cmd = [prog, args.file, mode, "--qd", str(qd), "--ops", str(ops),
                   "--warmup", str(warmup), "--verify"]
            if where != "native":
                cmd = prefixes[where] + cmd
            cells[(label, where)] = {"cmd": cmd, "ops": ops, "samples": [], "runs": [],
                                     "error": None}
    lat_labels = []
    if not args.native_only and not args.no_latency:
        sysloop = build(args.cc, "sysloop")
        floor = build(args.cc, "floor_tracer")
        cpu = str(min(os.sched_getaffinity(0)))
        pread = [sysloop, "pread", args.file, str(LAT_CALLS)]
        host = [sysloop, "read-host", str(LAT_CALLS)]
        lat = [("C floor (SECCOMP_RET_TRACE + PTRACE_CONT), unpinned", [floor, "--"] + pread),
               ("C floor, pinned to one CPU (taskset)", ["taskset", "-c", cpu, floor, "--"] + pread),
               ("C floor + GET_SYSCALL_INFO/GETREGS/SETREGS, unpinned",
                [floor, "--regs", "--"] + pread),
               ("C floor + GET_SYSCALL_INFO/GETREGS/SETREGS, pinned",
                ["taskset", "-c", cpu, floor, "--regs", "--"] + pread),
               ("pysentry, pread of a regular file (the host runs it)", sandbox_prefix + pread),
               ("pysentry, read of /dev/zero (the host runs it)", sandbox_prefix + host),
               # What serving a call costs: the Sentry's pread on its own fd
               # and process_vm_writev to the program (PYSENTRY_SERVE_FILES=1).
               ("pysentry, pread served by the Sentry (PYSENTRY_SERVE_FILES=1)",
                ["env", "PYSENTRY_SERVE_FILES=1"] + sandbox_prefix + pread),
               # The trap step off: every stop dispatched in Python, as before it.
               ("pysentry, trap step off, pread (the host runs it)",
                ["env", "PYSENTRY_TRAP_STEP=0"] + sandbox_prefix + pread),
               ("pysentry, trap step off, read of /dev/zero",
                ["env", "PYSENTRY_TRAP_STEP=0"] + sandbox_prefix + host)]
        if none_prefix:
            lat += [("pysentry --cpu-policy none, pread (the host runs it)", none_prefix + pread),
                    ("pysentry --cpu-policy none, read of /dev/zero", none_prefix + host)]
        for label, cmd in lat:
            lat_labels.append(label)
            cells[(label, "latency")] = {"cmd": cmd, "ops": LAT_CALLS, "samples": [],
                                         "runs": [], "error": None}

    deadline = time.monotonic() + args.budget
    for rep in range(args.repeat):
        for (label, where), cell in cells.items():
            if cell["error"]:
                continue
            # The budget bounds the sandbox runs; native runs take ~0.1 s each.
            left = deadline - time.monotonic() if where != "native" else args.timeout
            if left <= 1:
                # Out of time: a cell keeps the runs it has; one with none fails.
                if not cell["samples"]:
                    cell["error"] = "not run: the %.0f s time budget was spent" % args.budget
                log("[%-7s] %-10s run %d/%d: skipped, the %.0f s time budget was spent"
                    % (where, label, rep + 1, args.repeat, args.budget))
                continue
            try:
                r = run_once(cell["cmd"], cell["ops"], min(args.timeout, left))
            except (RunFailed, OSError) as e:
                cell["error"] = str(e)
                log("[%-7s] %-10s run %d/%d: FAILED: %s\n    command: %s"
                    % (where, label, rep + 1, args.repeat, e, shlex.join(cell["cmd"])))
                continue
            cell["runs"].append(r)
            if where == "latency":
                cell["samples"].append(r["us_per_call"])
                log("[latency] %s run %d/%d: %.2f us per call"
                    % (label, rep + 1, args.repeat, r["us_per_call"]))
                continue
            cell["samples"].append(r["iops"])
            log("[%-7s] %-10s run %d/%d: %12s IOPS  (%.3f s timed, %.2f s wall)"
                % (where, label, rep + 1, args.repeat, "{:,}".format(r["iops"]),
                   r["secs"], r["wall"]))

    def best(label, where, stat=args.stat):
        c = cells.get((label, where))
        if c is None or c["error"] or not c["samples"]:
            return None
        if stat == "median":
            v = statistics.median(c["samples"])
            return v if where == "latency" else int(v)
        # Best: the most IOPS, the fewest microseconds.
        return min(c["samples"]) if where == "latency" else max(c["samples"])

    rows = []
    for label, _, _ in CASES:
        n, s, z = best(label, "native"), best(label, "sandbox"), best(label, "sandbox-none")
        rows.append((label, fmt_iops(n),
                     "skipped" if args.native_only else fmt_iops(s),
                     "skipped" if args.native_only or not none_prefix else fmt_iops(z),
                     fmt_ratio(ratio(s, n))))
    key_defs = [("uring qd1 / psync", "uring qd1"), ("uring qd32 / psync", "uring qd32")]
    key_vals = {}
    keys = []
    for name, label in key_defs:
        vals = [ratio(best(label, w), best("psync", w)) for w in WHERE]
        key_vals[name] = dict(zip(WHERE, vals))
        keys.append((name,) + tuple(fmt_ratio(v) for v in vals))
    for label, _, _ in CASES:
        r = ratio(best(label, "sandbox"), best(label, "sandbox-none"))
        key_vals["%s: placement / none" % label] = {"sandbox": r}
        keys.append(("%s: placement / none" % label, "", fmt_ratio(r), ""))

    lat_rows, lat_keys = [], []
    pinned = best("C floor, pinned to one CPU (taskset)", "latency")
    for label in lat_labels:
        v = best(label, "latency")
        lat_rows.append((label, "FAILED" if v is None else "%.1f" % v, fmt_ratio(ratio(v, pinned))))
    if lat_labels:
        pread = best("pysentry, pread of a regular file (the host runs it)", "latency")
        pread_none = best("pysentry --cpu-policy none, pread (the host runs it)", "latency")
        unpinned = best("C floor (SECCOMP_RET_TRACE + PTRACE_CONT), unpinned", "latency")
        passed = best("pysentry, read of /dev/zero (the host runs it)", "latency")
        served = best("pysentry, pread served by the Sentry (PYSENTRY_SERVE_FILES=1)", "latency")
        pread_off = best("pysentry, trap step off, pread (the host runs it)", "latency")
        lat_keys = [("pread of a regular file / pinned C floor (target <= 1.3x)",
                     fmt_ratio(ratio(pread, pinned))),
                    ("read of /dev/zero / pinned C floor (target <= 1.15x)",
                     fmt_ratio(ratio(passed, pinned))),
                    ("pread served by the Sentry / pinned C floor", fmt_ratio(ratio(served, pinned))),
                    ("pread, trap step off / on", fmt_ratio(ratio(pread_off, pread))),
                    ("pread, none / placement", fmt_ratio(ratio(pread_none, pread))),
                    ("C floor, unpinned / pinned", fmt_ratio(ratio(unpinned, pinned)))]
        key_vals["latency"] = {label: best(label, "latency") for label in lat_labels}

    meta = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count() or 0,
        "kernel": os.uname().release,
        "python": py_platform.python_version(),
        "repeat": args.repeat,
        "statistic": args.stat,
        "ops_native": args.ops_native,
        "ops_sandbox": args.ops_sandbox,
        "size_mib": args.size_mib,
        "block": BLOCK,
        "file": args.file,
        "page_cache_resident": res_frac,
        "lat_calls": LAT_CALLS,
    }
    emit(render_markdown(rows, keys, lat_rows, lat_keys, meta) if args.markdown
         else render_text(rows, keys, lat_rows, lat_keys, meta))
    short = ["%s/%s (%d)" % (k + (len(c["samples"]),)) for k, c in cells.items()
             if c["samples"] and len(c["samples"]) < args.repeat]
    if short:
        emit("\nfewer than %d runs (time budget): %s" % (args.repeat, ", ".join(short)))

    failed = [k for k, c in cells.items() if c["error"]]
    epoll_data = None
    if not args.native_only and not args.no_latency:
        epoll_data = run_epoll(args, sandbox_prefix)
    fio_data = None
    if not args.no_fio and not args.native_only:
        emit("")
        fio_data, fio_failed = run_fio(args, emit_json=False)
        if fio_failed:
            failed.append(("fio", "some cell"))
    if args.json:
        out = {"meta": meta, "cells": {}, "ratios": key_vals, "fio": fio_data,
               "epoll": epoll_data}
        for (label, where), c in cells.items():
            out["cells"].setdefault(label, {})[where] = {
                "best": best(label, where, "best"),
                "median": best(label, where, "median"),
                "samples": c["samples"],
                "ops": c["ops"],
                "enters": [r.get("enters") for r in c["runs"]],
                "command": c["cmd"],
                "error": c["error"],
            }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        log("json: wrote %s" % args.json)
    if args.doc:
        write_doc(args.doc)
    if failed:
        log("bench: %d cell(s) FAILED: %s" % (len(failed),
                                              ", ".join("%s/%s" % k for k in failed)))
        return 1
    return 0


def run_epoll(args, sandbox_prefix):
    """The epoll-driven ring (tools/bench_epoll.py), natively and sandboxed."""
    sys.path.insert(0, HERE)
    import bench_epoll
    prog = build(args.cc, "epoll_loop")
    rounds = max(args.repeat, 3)
    med = bench_epoll.measure(prog, {"native": [], "pysentry": sandbox_prefix}, rounds, log)
    emit("")
    emit(bench_epoll.render(med, rounds, args.markdown))
    return med


def run_fio(args, emit_json=True):
    """The fio rows (tools/bench_clients.py); standalone (--fio-only) it returns
    the exit status, else (its json, whether a cell failed)."""
    import shutil
    sys.path.insert(0, HERE)
    import bench_clients
    if not shutil.which("fio"):
        log("fio is not installed (make deps installs it): no fio rows")
        return 1 if emit_json else (None, True)
    warm(args.file)
    text, data, failed = bench_clients.main(args, shlex.split(args.sandbox_cmd))
    emit(text)
    if not emit_json:
        return data, failed
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"fio": data}, f, indent=2)
            f.write("\n")
    if args.doc:
        write_doc(args.doc)
    return 1 if failed else 0


_EMITTED = []


def emit(text):
    """Print a table, and keep it for --doc."""
    print(text)
    _EMITTED.append(text)


def write_doc(path):
    """Replace what lies between the bench markers in path with the tables."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(path) as f:
        doc = f.read()
    if begin not in doc or end not in doc:
        raise SystemExit("%s has no %s ... %s section" % (path, begin, end))
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    body = "\n".join(_EMITTED).strip("\n")
    with open(path, "w") as f:
        f.write(head + begin + "\n" + body + "\n" + end + tail)
    log("doc: wrote the tables into %s" % path)


if __name__ == "__main__":
    sys.exit(main())
