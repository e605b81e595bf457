#!/usr/bin/env python3
"""pysentry benchmark: 4 KiB random reads from a page-cache file.

Measures pread(2) ("psync") and io_uring at queue depth 1 and 32, natively and
under `pysentry run`, in one run, and prints them side by side.  The figures
that matter are the ratios *within* each column -- io_uring vs the synchronous
syscall in the same environment -- which is how Linux judges io_uring.
Each cell is the best of --repeat runs.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.path.join(REPO, "build")
MODES = [("psync", "psync", 1), ("uring qd1", "uring", 1), ("uring qd32", "uring", 32)]


def build():
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "randread")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", out, os.path.join(HERE, "bench", "randread.c"),
                    "-luring"], check=True)
    return out


def make_file(path, mib):
    if not os.path.exists(path) or os.path.getsize(path) != mib << 20:
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
    with open(path, "rb") as f:           # warm the page cache
        while f.read(1 << 20):
            pass


def measure(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO)
    m = re.search(r"iops=(\d+)", proc.stdout)
    if proc.returncode != 0 or not m:
        raise RuntimeError("%s failed (exit %d): %s" % (cmd[0], proc.returncode,
                                                        proc.stderr.strip()[-400:]))
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default="/var/tmp/pysentry-bench.dat")
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--ops-native", type=int, default=200000)
    ap.add_argument("--ops-sandbox", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()

    prog = build()
    make_file(args.file, args.size_mib)
    results, failed = {}, False
    for label, mode, qd in MODES:
        for where in ("native", "sandbox"):
            ops = args.ops_native if where == "native" else args.ops_sandbox
            cmd = [prog, args.file, mode, str(ops), str(qd)]
            if where == "sandbox":
                cmd = [sys.executable, "-m", "pysentry", "run", "--"] + cmd
            try:
                best = max(measure(cmd) for _ in range(args.repeat))
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print("error: %s %s: %s" % (label, where, e), file=sys.stderr)
                best, failed = None, True
            results[(label, where)] = best
            print("  measured %-10s %-7s %s IOPS" % (label, where, best), file=sys.stderr)

    def cell(v):
        return "FAILED" if v is None else "{:,}".format(v)

    def ratio(a, b):
        return "n/a" if not a or not b else "%.2fx" % (a / b)

    rows = []
    for label, _, _ in MODES:
        n, s = results[(label, "native")], results[(label, "sandbox")]
        rows.append((label, cell(n), cell(s), ratio(s, n)))
    ps_n, ps_s = results[("psync", "native")], results[("psync", "sandbox")]
    key = [("uring qd1 / psync", ratio(results[("uring qd1", "native")], ps_n),
            ratio(results[("uring qd1", "sandbox")], ps_s)),
           ("uring qd32 / psync", ratio(results[("uring qd32", "native")], ps_n),
            ratio(results[("uring qd32", "sandbox")], ps_s))]
    if args.markdown:
        print("| 4 KiB random read | native IOPS | pysentry IOPS | pysentry / native |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print("| %s | %s | %s | %s |" % r)
        print()
        print("| ratio within one environment | native | pysentry |")
        print("|---|---:|---:|")
        for r in key:
            print("| %s | %s | %s |" % r)
    else:
        print("%-12s %14s %14s %18s" % ("4K randread", "native IOPS", "pysentry IOPS",
                                        "pysentry/native"))
        for r in rows:
            print("%-12s %14s %14s %18s" % r)
        print()
        print("%-20s %10s %10s" % ("within one env", "native", "pysentry"))
        for r in key:
            print("%-20s %10s %10s" % r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"%s/%s" % k: v for k, v in results.items()}, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
