#!/usr/bin/env python3
"""Load benchmark: throughput against the number of threads, natively and
under `pysentry run` (docs/reliability.md, "Load").

tests/c/load.c with T threads of 4 rings each, every thread writing and
reading back its own 4 KiB blocks through its rings (4 writes and 4
reads per ring per round, every block compared), for T = 1, 4, 16, 64 and a fixed number of
rounds per thread, so the work grows with T.  Per cell: requests/s (the
program's own clock, median of --runs interleaved runs) and, in the sandbox,
the slowdown against native.  Linear degradation would be requests/s
falling as 1/T; flat or rising is better.  Any wrong result fails the row.

  python3 tools/bench_load.py [--rounds 50] [--runs 3] [--threads 1,4,16,64] [--markdown]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC = os.path.join(REPO, "tests", "c", "load.c")
BUILD = os.path.join(REPO, "build", "load")


def build():
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "load")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(SRC):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, SRC, "-luring", "-lpthread"],
                       check=True)
    return out


def run(prefix, prog, threads, rounds, workdir):
    """requests/s of one run; RuntimeError on a wrong result or a failure."""
    path = os.path.join(workdir, "load.dat")
    env = dict(os.environ, PYTHONPATH=REPO)
    p = subprocess.run(prefix + [prog, path, str(threads), "4", str(rounds), "0", "0"],
                       capture_output=True, text=True, timeout=600, env=env)
    m = re.search(r"([\d.]+) requests/s", p.stderr)
    if p.returncode != 0 or not m or " 0 wrong" not in p.stdout:
        raise RuntimeError("exit %d: %s %s" % (p.returncode, p.stdout, p.stderr[-300:]))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=50, help="rounds per thread")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="1,4,16,64")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    prog = build()
    wheres = {"native": [], "pysentry": [sys.executable, "-m", "pysentry", "run", "--"]}
    counts = [int(t) for t in args.threads.split(",")]
    samples = {(w, t): [] for w in wheres for t in counts}
    with tempfile.TemporaryDirectory() as workdir:
        for rnd in range(args.runs):
            for t in counts:
                for where, prefix in wheres.items():
                    try:
                        samples[where, t].append(run(prefix, prog, t, args.rounds, workdir))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print("[%s] %d threads, run %d: FAILED: %s" % (where, t, rnd + 1, e),
                              file=sys.stderr)
                        continue
                    print("[%-8s] %2d threads, run %d/%d: %.0f requests/s"
                          % (where, t, rnd + 1, args.runs, samples[where, t][-1]),
                          file=sys.stderr)
    med = {k: statistics.median(v) if v else None for k, v in samples.items()}
    base = med["pysentry", counts[0]]
    rows = []
    for t in counts:
        n, s = med["native", t], med["pysentry", t]
        rows.append((t, 4 * t, t * args.rounds * 4 * 8,
                     "FAILED" if n is None else "{:,.0f}".format(n),
                     "FAILED" if s is None else "{:,.0f}".format(s),
                     "-" if None in (n, s) else "%.1fx" % (n / s),
                     "-" if None in (s, base) else "%.2f" % (s / base)))
    head = ("threads", "rings", "requests", "native req/s", "pysentry req/s",
            "slowdown", "pysentry vs 1 thread")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---:|" * len(head))
        for r in rows:
            print("| " + " | ".join(str(c) for c in r) + " |")
    else:
        print("  ".join("%14s" % h for h in head))
        for r in rows:
            print("  ".join("%14s" % c for c in r))
    print("(median of %d interleaved runs, %d rounds per thread, 4 KiB blocks)"
          % (args.runs, args.rounds))
    return 0 if all(v is not None for v in med.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
