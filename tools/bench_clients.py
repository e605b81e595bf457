"""Real clients in `make bench`: fio and qemu-img, natively and sandboxed.

4 KiB random reads from the bench's 64 MiB page-cached file (fio keeps the
page cache: --invalidate=0), each workload natively, under `pysentry run`
(the C data plane on: the default) and under PYSENTRY_DATAPLANE=0 (every SQE
through Python, as before the data plane existed):

  fio psync                 pread(2) per read (the synchronous anchor)
  fio io_uring QD32         fio's defaults: one SQE per io_uring_enter
  fio io_uring QD32 b32/16  --iodepth_batch_submit=32 --iodepth_batch_complete_min=16
  fio io_uring QD32 SQPOLL  --sqthread_poll=1 --fixedbufs --registerfiles
  fio SQPOLL, 2 processes   the same, --numjobs=2, IOPS of both together
  fio SQPOLL, 1 on CPU 0    SQPOLL with the whole run confined to one CPU:
                            `taskset -c 0` around fio (natively) or around
                            `pysentry run` (Sentry, SQ thread and fio), and
                            --sqthread_poll_cpu=0 for the SQ thread
  fio SQPOLL, 2 on CPUs 0+1 two such runs at once, one per CPU (two fio
                            processes natively, two sandboxes), IOPS of both
                            together: the scaling row on a 2-CPU machine,
                            where one unconfined SQPOLL fio already keeps
                            both CPUs busy (its thread and the SQ thread)
  qemu-img io_uring         `qemu-img bench -i io_uring`: 20,000 reads, 32 in
                            flight, one SQE per io_uring_enter (reads/s)
  qemu-img threads          the same with qemu's thread pool (reads/s)

For the qemu-img rows the CPU time each read cost is measured too: user +
system time of the whole run (qemu-img and, sandboxed, the Sentry with its
start-up), over the 20,000 reads.  The ring-fd issue asks that qemu with
io_uring cost no more CPU per read under pysentry than with threads; the
data-plane issue asks the same of the reads/s.

Configurations are interleaved round by round, so background load hits all
of them alike; a cell is the median of its rounds.  Rates are the clients'
own (start-up and ring set-up are not counted).  Used by tools/bench.py; the
targets of the data-plane issue are checked by targets().  qemu-img rows
need qemu-utils (skipped without it).
"""
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

URING = ["--ioengine=io_uring", "--iodepth=32"]
SQPOLL = URING + ["--sqthread_poll=1", "--fixedbufs", "--registerfiles"]
CASES = [
    ("fio psync", ["--ioengine=psync"]),
    ("fio io_uring QD32", URING),
    ("fio io_uring QD32 b32/16", URING + ["--iodepth_batch_submit=32",
                                          "--iodepth_batch_complete_min=16"]),
    ("fio io_uring QD32 SQPOLL", SQPOLL),
    ("fio SQPOLL, 2 processes", SQPOLL + ["--numjobs=2", "--group_reporting"]),
    ("fio SQPOLL, 1 on CPU 0", ("cpus", (0,), SQPOLL)),
    ("fio SQPOLL, 2 on CPUs 0+1", ("cpus", (0, 1), SQPOLL)),
    ("qemu-img io_uring", "io_uring"),
    ("qemu-img threads", "threads"),
]
QEMU_READS = 20000
WHERE = ("native", "sandbox", "sandbox-dp-off")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def confined(extra):
    """The CPUs of a confined case (one process per CPU), or None."""
    return extra[1] if isinstance(extra, tuple) and extra[0] == "cpus" else None


def commands(where, path, secs, extra, sandbox_prefix):
    """The command lines of one run: one, or one per CPU of a confined case
    (each wrapped in taskset, the SQ thread on the same CPU), run at once."""
    cpus = confined(extra)
    if cpus is None:
        return [command(where, path, secs, extra, sandbox_prefix)]
    return [["taskset", "-c", str(cpu)]
            + command(where, path, secs, extra[2] + ["--sqthread_poll_cpu=%d" % cpu],
                      sandbox_prefix)
            for cpu in cpus]


def command(where, path, secs, extra, sandbox_prefix):
    if isinstance(extra, str):      # qemu-img, with this AIO engine
        argv = ["qemu-img", "bench", "-f", "raw", "-i", extra, "-c", str(QEMU_READS), "-d", "32",
                "-s", "4096", "-S", "4096", path]
    else:
        argv = ["fio", "--name=bench", "--filename=" + path, "--size=64M", "--bs=4k",
                "--rw=randread", "--invalidate=0", "--time_based", "--runtime=%d" % secs,
                "--output-format=json"] + extra
    return argv if where == "native" else sandbox_prefix + argv


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmds, where, timeout):
    """(reads/s, CPU microseconds per read or None) of the commands run at
    once (reads/s summed).  The CPU time is that of the waited-for child
    and everything it waited for in turn: the Sentry reaps the program it
    traces, so its time is counted too."""
    env = dict(os.environ, PYTHONPATH=REPO)
    if where == "sandbox-dp-off":
        env["PYSENTRY_DATAPLANE"] = "0"
    cpu0 = _children_cpu()
    procs = [subprocess.Popen(cmd, cwd="/tmp", env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cmd in cmds]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=timeout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    cpu = _children_cpu() - cpu0
    total = 0
    for cmd, p, (out, err) in zip(cmds, procs, outs):
        if p.returncode != 0:
            raise RuntimeError("exit %d: %s" % (p.returncode, (err or out)[-400:]))
        if "qemu-img" in cmd:
            secs = float(re.search(r"completed in ([\d.]+) seconds", out).group(1))
            return QEMU_READS / secs, cpu * 1e6 / QEMU_READS
        job = json.loads(out[out.index("{"):])["jobs"][0]
        if job.get("error"):
            raise RuntimeError("fio error %s" % job["error"])
        total += job["read"]["iops"]
    return total, None


def measure(path, rounds, secs, sandbox_prefix, wheres=WHERE, timeout=120, only=None):
    """{(case, where): [IOPS per round]}, rounds interleaved; the qemu-img
    rows' CPU microseconds per read go to samples[(case, where, "cpu")]."""
    cases = [c for c in CASES if not only or only in c[0]]
    if not shutil.which("qemu-img"):
        cases = [c for c in cases if not c[0].startswith("qemu")]
    samples = {(name, w): [] for name, _ in cases for w in wheres}
    failed = set()
    for rnd in range(rounds):
        for name, extra in cases:
            for w in wheres:
                if (name, w) in failed:
                    continue
                cmds = commands(w, path, secs, extra, sandbox_prefix)
                try:
                    v, cpu = run(cmds, w, timeout)
                except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
                    failed.add((name, w))
                    log("[%-14s] %-26s round %d: FAILED: %s\n    command: %s"
                        % (w, name, rnd + 1, e, " & ".join(shlex.join(c) for c in cmds)))
                    continue
                samples[(name, w)].append(v)
                if cpu is not None:
                    samples.setdefault((name, w, "cpu"), []).append(cpu)
                log("[%-14s] %-26s round %d/%d: %12s reads/s%s"
                    % (w, name, rnd + 1, rounds, "{:,.0f}".format(v),
                       "" if cpu is None else ", %.1f us CPU per read" % cpu))
    return cases, samples, failed


def medians(samples):
    return {k: (statistics.median(v) if v else None) for k, v in samples.items()}


def _ratio(a, b):
    return a / b if a and b else None


def _fmt_iops(v):
    return "FAILED" if v is None else "{:,.0f}".format(v)


def _fmt_x(v):
    return "-" if v is None else ("%.3fx" % v if v < 0.1 else "%.2fx" % v)


def rows(cases, med):
    """(label, native, sandbox, sandbox dp off, sandbox/native, dp gain) strings."""
    out = []
    for name, _ in cases:
        n, s, o = (med.get((name, w)) for w in WHERE)
        out.append((name, _fmt_iops(n), _fmt_iops(s), _fmt_iops(o), _fmt_x(_ratio(s, n)),
                    _fmt_x(_ratio(s, o))))
    return out


TARGETS = [
    # (what, numerator, denominator, goal)
    ("fio SQPOLL QD32: pysentry / native", ("fio io_uring QD32 SQPOLL", "sandbox"),
     ("fio io_uring QD32 SQPOLL", "native"), 0.25),
    ("fio batched QD32: pysentry / native", ("fio io_uring QD32 b32/16", "sandbox"),
     ("fio io_uring QD32 b32/16", "native"), 0.25),
    ("two fio SQPOLL processes / one, pysentry", ("fio SQPOLL, 2 processes", "sandbox"),
     ("fio io_uring QD32 SQPOLL", "sandbox"), 1.6),
    ("two fio SQPOLL processes / one, one CPU each, pysentry",
     ("fio SQPOLL, 2 on CPUs 0+1", "sandbox"), ("fio SQPOLL, 1 on CPU 0", "sandbox"), 1.6),
    ("qemu-img io_uring / threads (reads/s), pysentry", ("qemu-img io_uring", "sandbox"),
     ("qemu-img threads", "sandbox"), 1.0),
    # CPU per read: threads over io_uring, so >= 1 means io_uring costs no more
    ("qemu-img CPU per read, threads / io_uring, pysentry",
     ("qemu-img threads", "sandbox", "cpu"), ("qemu-img io_uring", "sandbox", "cpu"), 1.0),
]


SCALING = [
    # (label, two processes, one)
    ("two fio SQPOLL processes / one, unconfined", "fio SQPOLL, 2 processes",
     "fio io_uring QD32 SQPOLL"),
    ("two fio SQPOLL processes / one, one CPU each (taskset)", "fio SQPOLL, 2 on CPUs 0+1",
     "fio SQPOLL, 1 on CPU 0"),
]


def scaling_rows(med):
    """(label, native, sandbox, sandbox dp off) aggregate IOPS of two
    processes over one, where both rows were measured."""
    return [(label, *(_fmt_x(_ratio(med.get((two, w)), med.get((one, w)))) for w in WHERE))
            for label, two, one in SCALING
            if med.get((two, "native")) is not None or med.get((two, "sandbox")) is not None]


def cpu_rows(cases, med):
    """(label, native, sandbox, sandbox dp off) CPU microseconds per read."""
    fmt = lambda v: "-" if v is None else "%.1f" % v
    return [(name, *(fmt(med.get((name, w, "cpu"))) for w in WHERE))
            for name, _ in cases if name.startswith("qemu")]


def targets(med):
    """[(what, value, goal, met)] for the data-plane issue's targets."""
    out = []
    for what, num, den, goal in TARGETS:
        v = _ratio(med.get(num), med.get(den))
        out.append((what, v, goal, v is not None and v >= goal))
    return out


def render_markdown(cases, med, rounds, secs):
    lines = ["| 4 KiB randread, IOPS (median of %d; fio runs %d s) | native | pysentry "
             "| pysentry, data plane off | pysentry / native | data plane gain |" % (rounds, secs),
             "|---|---:|---:|---:|---:|---:|"]
    lines += ["| %s | %s | %s | %s | %s | %s |" % r for r in rows(cases, med)]
    scaling = scaling_rows(med)
    if scaling:
        lines += ["", "| aggregate IOPS, two processes / one | native | pysentry "
                  "| pysentry, data plane off |", "|---|---:|---:|---:|"]
        lines += ["| %s | %s | %s | %s |" % r for r in scaling]
    cpu = cpu_rows(cases, med)
    if cpu:
        lines += ["", "| CPU µs per read (user + system, whole run) | native | pysentry "
                  "| pysentry, data plane off |", "|---|---:|---:|---:|"]
        lines += ["| %s | %s | %s | %s |" % r for r in cpu]
    lines += ["", "| target | ratio | goal | met |", "|---|---:|---:|---|"]
    for what, v, goal, met in targets(med):
        lines.append("| %s | %s | >= %sx | %s |" % (what, _fmt_x(v), goal, "yes" if met else "no"))
    return "\n".join(lines)


def render_text(cases, med, rounds, secs):
    w = [28, 12, 12, 14, 10, 10]
    hdr = ("4k randread, reads/s", "native", "pysentry", "dp off", "/native", "dp gain")
    lines = ["%-*s %*s %*s %*s %*s %*s" % sum(zip(w, hdr), ())]
    for r in rows(cases, med):
        lines.append("%-*s %*s %*s %*s %*s %*s" % sum(zip(w, r), ()))
    lines.append("(median of %d interleaved runs; fio runs %d s)" % (rounds, secs))
    for r in scaling_rows(med):
        lines.append("%-54s %8s %8s %8s   two / one (native, pysentry, dp off)" % r)
    for r in cpu_rows(cases, med):
        lines.append("%-*s %*s %*s %*s   CPU us per read" % sum(zip(w, r), ()))
    for what, v, goal, met in targets(med):
        lines.append("target %-56s %8s  goal >= %sx  %s" % (what, _fmt_x(v), goal,
                                                              "met" if met else "NOT met"))
    return "\n".join(lines)


def chart(cases, med, path):
    """A bar chart (PNG) of the table, log scale; needs matplotlib (optional:
    pip install matplotlib).  Returns False if it is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    short = {"fio psync": "fio\npsync", "fio io_uring QD32": "fio io_uring\nQD32",
             "fio io_uring QD32 b32/16": "fio QD32\nbatched 32/16",
             "fio io_uring QD32 SQPOLL": "fio QD32\nSQPOLL",
             "fio SQPOLL, 2 processes": "fio SQPOLL\n2 processes",
             "fio SQPOLL, 1 on CPU 0": "fio SQPOLL\n1 on 1 CPU",
             "fio SQPOLL, 2 on CPUs 0+1": "fio SQPOLL\n2 on 2 CPUs",
             "qemu-img io_uring": "qemu-img\nio_uring", "qemu-img threads": "qemu-img\nthreads"}
    labels = [short.get(name, name) for name, _ in cases]
    series = [("native", "#4c72b0"), ("sandbox", "#55a868"), ("sandbox-dp-off", "#c44e52")]
    names = {"native": "native", "sandbox": "pysentry", "sandbox-dp-off": "pysentry, data plane off"}
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=110)
    width = 0.27
    for i, (w, color) in enumerate(series):
        vals = [med.get((name, w)) or 0 for name, _ in cases]
        xs = [k + (i - 1) * width for k in range(len(cases))]
        bars = ax.bar(xs, vals, width, label=names[w], color=color)
        for b, v in zip(bars, vals):
            if v:
                ax.annotate("%.0fK" % (v / 1000), (b.get_x() + b.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("reads/s (log scale)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_title("4 KiB random reads from a 64 MiB page-cached file (reads/s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def main(args, sandbox_prefix):
    """The fio section of tools/bench.py: returns (text or markdown, json dict)."""
    t0 = time.monotonic()
    cases, samples, failed = measure(args.file, args.fio_rounds, args.fio_secs, sandbox_prefix,
                                     timeout=args.fio_secs * 10 + 60, only=args.fio_only)
    med = medians(samples)
    render = render_markdown if args.markdown else render_text
    out = render(cases, med, args.fio_rounds, args.fio_secs)
    if args.chart:
        if chart(cases, med, args.chart):
            log("chart: wrote %s" % args.chart)
        else:
            log("chart: matplotlib is not installed (pip install matplotlib); no chart")
    log("clients: %.0f s" % (time.monotonic() - t0))
    data = {"rounds": args.fio_rounds, "secs": args.fio_secs,
            "samples": {"|".join(k): v for k, v in samples.items()},
            "median": {"|".join(k): v for k, v in med.items()},
            "targets": [{"what": w, "ratio": v, "goal": g, "met": m}
                        for w, v, g, m in targets(med)]}
    return out, data, bool(failed)
