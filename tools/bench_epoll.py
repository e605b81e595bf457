"""The epoll-driven ring in `make bench` (the ring-fd issue's measurement).

tools/bench/epoll_loop.c runs the loop libuv runs: the ring fd sits in an
epoll set; each round submits one NOP, blocks in epoll_wait until the ring
fd is readable and reaps the CQE in user space.  Natively and under
`pysentry run`, in one run:

  rounds/s                 the program's own clock over ROUNDS rounds
  epoll_wait per round     1.00 when no wake-up is spurious
  CPU us per round         user + system time of the whole run, the Sentry's
                           included (RUSAGE_CHILDREN), less that of a run of
                           0 rounds (start-up), over ROUNDS
  CPU ms in a 500 ms wait  the same for `epoll_loop idle` (one READ on a pipe
                           a thread writes after 500 ms): a loop or a Sentry
                           that spun on a stale readiness would burn ~500

Each cell is the median of `rounds` interleaved runs.
"""
import re
import resource
import statistics
import subprocess

# Enough rounds that the work outweighs the noise in start-up CPU (a sandbox
# starts Python: tens of ms either way), which is subtracted.
ROUNDS = 20000


def _cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd, timeout):
    c0 = _cpu()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    cpu = _cpu() - c0
    if p.returncode != 0:
        raise RuntimeError("exit %d: %s" % (p.returncode, (p.stderr or p.stdout)[-300:]))
    return p.stdout, cpu


def measure(prog, prefixes, rounds, log, timeout=120):
    """{where: {"rounds_s", "waits", "cpu_us", "idle_ms"}} (medians)."""
    samples = {w: {"rounds_s": [], "waits": [], "cpu_us": [], "idle_ms": []} for w in prefixes}
    for rnd in range(rounds):
        for where, prefix in prefixes.items():
            s = samples[where]
            try:
                _, base = _run(prefix + [prog, "0"], timeout)
                out, cpu = _run(prefix + [prog, str(ROUNDS)], timeout)
                m = re.search(r"([\d.]+) rounds/s, ([\d.]+) epoll_wait per round", out)
                s["rounds_s"].append(float(m.group(1)))
                s["waits"].append(float(m.group(2)))
                s["cpu_us"].append(max(cpu - base, 0) * 1e6 / ROUNDS)
                _, idle = _run(prefix + [prog, "idle"], timeout)
                s["idle_ms"].append(max(idle - base, 0) * 1e3)
            except (RuntimeError, AttributeError, subprocess.TimeoutExpired) as e:
                log("[%-7s] epoll loop round %d: FAILED: %s" % (where, rnd + 1, e))
                continue
            log("[%-7s] epoll loop round %d/%d: %.0f rounds/s, %.2f epoll_wait/round, "
                "%.1f us CPU/round, %.1f ms CPU in a 500 ms wait"
                % (where, rnd + 1, rounds, s["rounds_s"][-1], s["waits"][-1],
                   s["cpu_us"][-1], s["idle_ms"][-1]))
    return {w: {k: (statistics.median(v) if v else None) for k, v in s.items()}
            for w, s in samples.items()}


_ROWS = [("NOP rounds/s (submit, epoll_wait, reap)", "rounds_s", "{:,.0f}"),
         ("epoll_wait calls per round", "waits", "{:.2f}"),
         ("CPU µs per round (whole run, Sentry included)", "cpu_us", "{:.1f}"),
         ("CPU ms during a 500 ms wait for a completion", "idle_ms", "{:.1f}")]


def render(med, rounds, markdown):
    wheres = list(med)
    fmt = lambda w, key, f: "FAILED" if med[w][key] is None else f.format(med[w][key])
    if markdown:
        lines = ["| epoll-driven ring (median of %d) | %s |" % (rounds, " | ".join(wheres)),
                 "|---|" + "---:|" * len(wheres)]
        lines += ["| %s | %s |" % (label, " | ".join(fmt(w, k, f) for w in wheres))
                  for label, k, f in _ROWS]
    else:
        lines = ["%-48s %s" % ("epoll-driven ring", " ".join("%12s" % w for w in wheres))]
        lines += ["%-48s %s" % (label, " ".join("%12s" % fmt(w, k, f) for w in wheres))
                  for label, k, f in _ROWS]
        lines.append("(median of %d interleaved runs)" % rounds)
    return "\n".join(lines)
