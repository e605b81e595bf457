#!/usr/bin/env python3
"""Churn benchmark: the Sentry's max RSS and live objects after 1x and 10x the work.

For each mode of tests/c/churn.c (rings closed with a TIMEOUT, poll and read in
flight; reads linked to LINK_TIMEOUTs; timeouts/polls/reads cancelled; rings
with an eventfd, personality, provided buffers, a multishot poll; SQPOLL
rings; forked children exiting with busy rings) runs `pysentry run --stats`
with N and 10*N iterations and reads the Sentry's own figures from the
`live ...` lines (sentry/live.py): max RSS (getrusage of the Sentry alone,
not the program), host fds while the program runs and live requests/timers
once it has exited.  Bounded means the same max RSS within 10% at 1x and 10x.

  python3 tools/churn_rss.py [--scale K] [--modes rings,fork] [--markdown]
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC = os.path.join(REPO, "tests", "c", "churn.c")
BUILD = os.path.join(REPO, "build", "churn")

MODES = {"rings": 500, "linkto": 500, "cancel": 1000, "extras": 300, "sqpoll": 100, "fork": 300}


def build():
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "churn")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(SRC):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, SRC, "-luring"], check=True)
    return out


def run(prog, mode, n):
    env = dict(os.environ, PYTHONPATH=REPO)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pysentry", "run", "--stats", "--", prog, mode,
                           str(n)], capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit("churn %s %d failed (%d):\n%s" % (mode, n, proc.returncode,
                                                          proc.stderr[-2000:]))
    snaps = {}
    for label, fields in re.findall(r"pysentry: live ([a-z ]+): (.*)", proc.stderr):
        snaps[label] = {k: int(v) for k, v in (kv.split("=") for kv in fields.split())}
    end, at_exit = snaps["after teardown"], snaps["at program exit"]
    return {"maxrss_mb": end["maxrss_kb"] / 1024, "fds": at_exit["sentry_fds"],
            "live": at_exit["requests"] + at_exit["timers"] + at_exit["rings"], "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every mode's N")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    prog = build()
    rows, bad = [], 0
    for mode in args.modes.split(","):
        n = max(1, int(MODES[mode] * args.scale))
        a, b = run(prog, mode, n), run(prog, mode, 10 * n)
        growth = b["maxrss_mb"] / a["maxrss_mb"] - 1
        ok = abs(growth) <= 0.10 and a["fds"] == b["fds"] and a["live"] == b["live"] == 0
        bad += not ok
        rows.append((mode, n, a["maxrss_mb"], 10 * n, b["maxrss_mb"], 100 * growth,
                     "%d / %d" % (a["fds"], b["fds"]), a["live"] + b["live"],
                     "%.1f / %.1f" % (a["wall"], b["wall"]), "ok" if ok else "GROWS"))
        print("%-7s N=%-6d %6.1f MB   10N=%-6d %6.1f MB  %+5.1f%%  fds %s  live %d  wall %s s  %s"
              % rows[-1], file=sys.stderr, flush=True)
    if args.markdown:
        print("| churn | N | max RSS | 10 N | max RSS | growth | Sentry fds (N / 10N) "
              "| live after | wall s | |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            print("| %s | %d | %.1f MB | %d | %.1f MB | %+.1f%% | %s | %d | %s | %s |" % r)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
