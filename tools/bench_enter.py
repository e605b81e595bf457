#!/usr/bin/env python3
"""io_uring_enter in the C trap step, before and after, in one interleaved run.

For each round, each tree (A: the tree before, B: the tree after; any
pysentry checkouts) runs under `pysentry run`, in turn:

  enter NOP         tools/bench/enterloop nop: one NOP per io_uring_enter
  enter READ        enterloop read: one 4 KiB READ per io_uring_enter
  eventfd write     enterloop eventfd: a write the trap step passes on
  fio io_uring QD32 fio's defaults (one SQE per enter; bench_clients.py's
                    command line), IOPS
  qemu-img io_uring / threads   qemu-img bench -i io_uring / -i threads
                    (bench_clients.py's command line), reads/s

and prints the median of the rounds per row and tree, and B/A.  The file
is read once first, so it is in the page cache.  The machine may be shared:
only the ratios of one run mean something.

  bench_enter.py --a /tmp/base --b . [--rounds 3] [--file F] [--calls N]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_clients  # noqa: E402


def sandboxed(tree, argv, timeout=600):
    env = dict(os.environ, PYTHONPATH=tree)
    proc = subprocess.run([sys.executable, "-m", "pysentry", "run", "--"] + argv, cwd=tree,
                          env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (argv[0], proc.stderr[-2000:]))
    return proc.stdout


def us_per_call(out):
    return float(re.search(r"us_per_call=([\d.]+)", out).group(1))


def fio_iops(out):
    job = json.loads(out[out.index("{"):])["jobs"][0]
    return job["read"]["iops"]


def qemu_rate(out):
    secs = float(re.search(r"Run completed in ([\d.]+) seconds", out).group(1))
    return bench_clients.QEMU_READS / secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="the tree before")
    ap.add_argument("--b", required=True, help="the tree after")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--fio-secs", type=int, default=2)
    ap.add_argument("--file", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    loop = os.path.join(tmp, "enterloop")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", loop, os.path.join(HERE, "bench", "enterloop.c")],
                   check=True)
    path = args.file or os.path.join(tmp, "bench.dat")
    if not args.file:
        with open(path, "wb") as f:
            f.write(os.urandom(64 << 20))
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass
    n = str(args.calls)
    rows = [("enter NOP, us/call", lambda t: us_per_call(sandboxed(t, [loop, "nop", n]))),
            ("enter READ, us/call", lambda t: us_per_call(sandboxed(t, [loop, "read", path, n]))),
            ("eventfd write, us/call", lambda t: us_per_call(sandboxed(t, [loop, "eventfd", n])))]
    if shutil.which("fio"):
        rows.append(("fio io_uring QD32, IOPS", lambda t: fio_iops(sandboxed(
            t, bench_clients.command("native", path, args.fio_secs, bench_clients.URING, [])))))
    if shutil.which("qemu-img"):
        for engine in ("io_uring", "threads"):
            rows.append(("qemu-img %s, reads/s" % engine, lambda t, e=engine: qemu_rate(sandboxed(
                t, bench_clients.command("native", path, 0, e, [])))))
    res = {(name, side): [] for name, _ in rows for side in "AB"}
    for r in range(args.rounds):
        for name, fn in rows:
            for side, tree in (("A", args.a), ("B", args.b)):
                v = fn(os.path.abspath(tree))
                res[(name, side)].append(v)
                print("round %d %-26s %s %.1f" % (r + 1, name, side, v), file=sys.stderr, flush=True)
    print("| row | A (before) | B (after) | B/A |")
    print("|---|---:|---:|---:|")
    for name, _ in rows:
        a = statistics.median(res[(name, "A")])
        b = statistics.median(res[(name, "B")])
        print("| %s | %.1f | %.1f | %.2fx |" % (name, a, b, b / a))
    if shutil.which("qemu-img"):
        for side in "AB":
            u = statistics.median(res[("qemu-img io_uring, reads/s", side)])
            t = statistics.median(res[("qemu-img threads, reads/s", side)])
            print("qemu-img io_uring / threads, %s: %.2f" % (side, u / t))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
