#!/usr/bin/env python3
"""CPU placement, before and after, in one run (docs/performance.md).

Each workload runs under `pysentry run --cpu-policy none` (the Sentry placed
by the host scheduler alone: what pysentry did before placement existed),
under the default policy (auto), and -- for reference -- under
`taskset -c 0 pysentry run --cpu-policy none` (the user pinning everything
by hand, the issue's "pinned" column).  Configurations are interleaved round
by round, so background load hits all of them alike; each cell is the median
of --rounds runs.

  pread              us per call, loop of 20,000 (tools/bench/sysloop.c); the
                     host runs it (the Sentry served it before regular files
                     were passed to the host: see --baseline)
  read to the host   us per call, read(2) of /dev/zero passed through
  fio psync          IOPS, 4 KiB randread, 64 MiB page-cached file
  fio io_uring       IOPS, QD32, fio's defaults
  fio io_uring b32/16  IOPS, QD32, iodepth_batch_submit=32, _complete_min=16
  fio io_uring SQPOLL  IOPS, QD32, sqthread_poll=1
  qemu-img io_uring  seconds for 20,000 4 KiB reads, 32 in parallel
  qemu-img threads   the same with its thread pool
  32 rings           IOPS, 32 threads with a ring each, QD4 (ringthreads.c)
  two sandboxes      pread calls/s of two sandboxes at once, over one

--baseline DIR adds a column for an older checkout run as it is, e.g. the
commit before placement (git archive COMMIT | tar -x -C DIR): "before".

fio and qemu-img must be installed (qemu-img is optional: apt-get install
qemu-utils).  `make bench-placement` runs this; a round takes ~1 minute.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (tools/bench.py: build, make_file, warm)

POLICIES = ("none", "auto", "taskset")
BASELINE = None     # --baseline DIR: an older checkout, run as it is ("baseline")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sandbox(policy, argv):
    if policy == "baseline":
        return [sys.executable, "-m", "pysentry", "run", "--"] + argv
    base = [sys.executable, "-m", "pysentry", "run", "--cpu-policy",
            "none" if policy == "taskset" else policy, "--"] + argv
    if policy == "taskset":
        return ["taskset", "-c", str(min(os.sched_getaffinity(0)))] + base
    return base


def _where(cmd):
    """(cwd, env) for a command: the checkout it runs pysentry from."""
    tree = BASELINE if "--cpu-policy" not in cmd and BASELINE else REPO
    return tree, dict(os.environ, PYTHONPATH=tree)


def run(cmd, timeout=120):
    cwd, env = _where(cmd)
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (shlex.join(cmd), p.returncode, p.stderr[-500:]))
    return p.stdout


def us_per_call(out):
    return float(re.search(r"us_per_call=([\d.]+)", out).group(1))


def fio_iops(out):
    return json.loads(out[out.index("{"):])["jobs"][0]["read"]["iops"]


def workloads(args, build):
    f = args.file
    sysloop, ringthreads = build["sysloop"], build["ringthreads"]
    fio = ["fio", "--name=r", "--filename=" + f, "--size=64M", "--bs=4k", "--rw=randread",
           "--invalidate=0", "--runtime=%d" % args.fio_secs, "--time_based",
           "--output-format=json"]
    uring = fio + ["--ioengine=io_uring", "--iodepth=32"]
    w = [("pread, us/call", "us", lambda p: us_per_call(run(sandbox(p, [sysloop, "pread", f])))),
         ("read to the host, us/call", "us",
          lambda p: us_per_call(run(sandbox(p, [sysloop, "read-host"])))),
         ("fio psync, IOPS", "iops", lambda p: fio_iops(run(sandbox(p, fio + ["--ioengine=psync"])))),
         ("fio io_uring QD32, defaults, IOPS", "iops", lambda p: fio_iops(run(sandbox(p, uring)))),
         ("fio io_uring QD32, batch 32/16, IOPS", "iops",
          lambda p: fio_iops(run(sandbox(p, uring + ["--iodepth_batch_submit=32",
                                                     "--iodepth_batch_complete_min=16"])))),
         ("fio io_uring QD32, SQPOLL, IOPS", "iops",
          lambda p: fio_iops(run(sandbox(p, uring + ["--sqthread_poll=1"]))))]
    if shutil.which("qemu-img"):
        def qemu(engine):
            def one(p):
                out = run(sandbox(p, ["qemu-img", "bench", "-c", "20000", "-d", "32", "-i", engine,
                                      "-f", "raw", f]))
                return float(re.search(r"completed in ([\d.]+) seconds", out).group(1))
            return one
        w += [("qemu-img bench -i io_uring, s", "s", qemu("io_uring")),
              ("qemu-img bench -i threads, s", "s", qemu("threads"))]
    else:
        log("qemu-img not found: its rows are skipped (apt-get install qemu-utils)")
    w += [("32 threads, a ring each, IOPS", "iops",
           lambda p: float(re.search(r"iops=(\d+)", run(sandbox(
               p, [ringthreads, f, "--threads", "32", "--qd", "4", "--ops", "1000"]))).group(1))),
          ("two sandboxes at once / one alone (pread)", "x", lambda p: two_at_once(p, sysloop, f))]
    return w


def two_at_once(policy, sysloop, f):
    """Calls/s of two pread loops in two sandboxes at once, over one alone."""
    one = 1e6 / us_per_call(run(sandbox(policy, [sysloop, "pread", f])))
    cmd = sandbox(policy, [sysloop, "pread", f, "40000"])
    cwd, env = _where(cmd)
    procs = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    both = sum(1e6 / us_per_call(p.communicate(timeout=300)[0]) for p in procs)
    return both / one


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "iops":
        return "{:,.0f}".format(v)
    if unit == "x":
        return "%.2fx" % v
    return "%.2f" % v if unit == "s" else "%.1f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default="/var/tmp/pysentry-bench.dat")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fio-secs", type=int, default=3)
    ap.add_argument("--only", help="run only the workloads whose name contains this")
    ap.add_argument("--policies", default=",".join(POLICIES),
                    help="comma-separated, of none, auto, taskset (default: all)")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also run an older checkout of pysentry as it is (column 'baseline'), "
                         "e.g. one made with: git worktree add /tmp/base <commit>")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    policies = args.policies.split(",")
    if args.baseline:
        global BASELINE
        BASELINE = os.path.abspath(args.baseline)
        policies = ["baseline"] + [p for p in policies if p != "baseline"]

    build = {name: bench.build(os.environ.get("CC", "gcc"), name)
             for name in ("sysloop", "ringthreads")}
    bench.make_file(args.file, 64)
    bench.warm(args.file)
    work = [w for w in workloads(args, build) if not args.only or args.only in w[0]]
    samples = {(name, p): [] for name, _, _ in work for p in policies}
    t0 = time.monotonic()
    for rnd in range(args.rounds):
        for name, unit, fn in work:
            for p in policies:
                try:
                    v = fn(p)
                except Exception as e:   # noqa: BLE001 - report and go on
                    log("[%s] %s: FAILED: %s" % (p, name, e))
                    continue
                samples[(name, p)].append(v)
                log("round %d [%-7s] %-48s %s" % (rnd + 1, p, name, fmt(v, unit)))
    med = {k: statistics.median(v) if v else None for k, v in samples.items()}
    head = "| workload (median of %d) | %s | auto / none |" % (
        args.rounds, " | ".join({"none": "`--cpu-policy none`", "auto": "auto (default)",
                                 "taskset": "`taskset -c 0`, none",
                                 "baseline": "before (baseline)"}[p] for p in policies))
    if args.baseline:
        head = head.replace("auto / none", "auto / before")
    print(head)
    print("|---|" + "---:|" * (len(policies) + 1))
    for name, unit, _ in work:
        a, n = med.get((name, "auto")), med.get((name, "baseline" if args.baseline else "none"))
        if a and n:
            gain = n / a if unit in ("us", "s") else a / n
            gain = "%.2fx" % gain
        else:
            gain = "-"
        print("| %s | %s | %s |" % (name, " | ".join(fmt(med[(name, p)], unit) for p in policies),
                                    gain))
    print("\n(auto / %s: how many times better; %.0f s in all)"
          % ("before" if args.baseline else "none", time.monotonic() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"%s|%s" % k: v for k, v in samples.items()}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
