#!/usr/bin/env python3
"""Soak: mixed io_uring workloads under pysentry for N minutes, the Sentry's
RSS and fd count sampled all along.

Runs tools/soak/soak_work.c (files through fixed files and buffers, pipes
with LINK_TIMEOUTs, sockets with polls, timeouts fired and removed, reads and
polls cancelled, rings created with requests in flight and destroyed,
children forked that exit with busy rings; every result checked) in WORKERS
processes under `pysentry run --stats`, samples the Sentry process's RSS
(/proc/PID/status) and open fds (/proc/PID/fd) every --interval seconds, and
writes into --out (default build/soak/):

  samples.csv   t, rss_kb, fds, program processes
  soak.png      RSS and fds over time (matplotlib, pip-installed if missing)
  summary.md    duration, rounds, wrong results, RSS first/last minute and
                max, fd range, the Sentry's live-object lines at the end

Exit status 1 if a result was wrong, the run failed, or something was live
at the end.

  python3 tools/soak.py --minutes 5 [--workers 2] [--seed 1]
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC = os.path.join(HERE, "soak", "soak_work.c")


def build(out_dir):
    out = os.path.join(out_dir, "soak_work")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(SRC):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, SRC, "-luring"], check=True)
    return out


def sample(pid):
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = len(f.read().split())
    except OSError:
        kids = -1
    return rss, fds, kids


def pyplot():
    try:
        import matplotlib
    except ImportError:
        print("soak: installing matplotlib with pip", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot(samples, path, title):
    plt = pyplot()
    t = [s[0] / 60 for s in samples]
    fig, ax1 = plt.subplots(figsize=(9, 4.5))
    ax1.plot(t, [s[1] / 1024 for s in samples], color="tab:blue", label="Sentry RSS (MB)")
    ax1.set_xlabel("minutes")
    ax1.set_ylabel("RSS (MB)", color="tab:blue")
    ax1.set_ylim(bottom=0, top=max(s[1] for s in samples) / 1024 * 1.3)
    ax2 = ax1.twinx()
    ax2.plot(t, [s[2] for s in samples], color="tab:red", label="Sentry fds")
    ax2.set_ylabel("open fds", color="tab:red")
    ax2.set_ylim(bottom=0, top=max(s[2] for s in samples) * 1.5 + 1)
    ax1.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--out", default=os.path.join(REPO, "build", "soak"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    prog = build(args.out)
    secs = args.minutes * 60
    env = dict(os.environ, PYTHONPATH=REPO)
    cmd = [sys.executable, "-m", "pysentry", "run", "--stats", "--", prog, str(secs),
           str(args.seed), str(args.workers)]
    err_path = os.path.join(args.out, "stderr.txt")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO,
                                env=env)
        samples = []
        t0 = time.monotonic()
        while proc.poll() is None:
            try:
                rss, fds, kids = sample(proc.pid)
                samples.append((time.monotonic() - t0, rss, fds, kids))
            except (OSError, TypeError):
                pass
            time.sleep(args.interval)
        out = proc.stdout.read()
    wall = time.monotonic() - t0
    stderr = open(err_path).read()
    with open(os.path.join(args.out, "samples.csv"), "w") as f:
        f.write("t,rss_kb,fds,processes\n")
        for s in samples:
            f.write("%.1f,%d,%d,%d\n" % s)
    rounds = sum(int(m) for m in re.findall(r"rounds (\d+)", out))
    wrong = sum(int(m) for m in re.findall(r"rounds \d+ wrong (\d+)", out))
    kinds = {}
    for k, n in re.findall(r"worker \d+ ([a-z]+) (\d+) wrong", out):
        if k == "rounds":
            continue
        kinds[k] = kinds.get(k, 0) + int(n)
    lives = re.findall(r"pysentry: (live [a-z ]+: .*)", stderr)
    end = dict(kv.split("=") for kv in lives[-1].split(": ", 1)[1].split()) if lives else {}
    live_left = sum(int(end.get(k, 1)) for k in ("rings", "requests", "timers", "poll_waits",
                                                   "poll_watches", "task_work"))
    first = [s[1] for s in samples if s[0] <= 60] or [samples[0][1]]
    last = [s[1] for s in samples if s[0] >= samples[-1][0] - 60]
    title = "pysentry soak: %d workers, %.0f min, %d rounds" % (args.workers, wall / 60, rounds)
    plot(samples, os.path.join(args.out, "soak.png"), title)
    lines = [
        "soak: %s" % " ".join(cmd[cmd.index("--") + 1:]),
        "duration %.1f min, exit status %d, %d rounds (%s), %d wrong results"
        % (wall / 60, proc.returncode, rounds, ", ".join("%s %d" % kv for kv in kinds.items()),
           wrong),
        "Sentry RSS: first minute median %.1f MB, last minute median %.1f MB, max %.1f MB"
        % (sorted(first)[len(first) // 2] / 1024, sorted(last)[len(last) // 2] / 1024,
           max(s[1] for s in samples) / 1024),
        "Sentry fds: min %d, max %d, last %d; program processes max %d"
        % (min(s[2] for s in samples), max(s[2] for s in samples), samples[-1][2],
           max(s[3] for s in samples)),
    ] + lives
    summary = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(summary)
    print(summary, end="")
    return 1 if proc.returncode or wrong or live_left or not rounds else 0


if __name__ == "__main__":
    sys.exit(main())
