"""Bounded resources: rings, requests, timers, polls and registered resources
created and abandoned over and over (tests/c/churn.c) leave nothing live in
the Sentry, and its own host fds stay flat.  The counts come from the
`live ...` lines `pysentry run --stats` prints (sentry/live.py): one when the
program's first process exits, before its own rings are torn down, and one
after everything is gone.  Memory figures are a benchmark's business
(tools/churn_rss.py, `make churn-rss`), not this test's."""
import re

from harness import check, run_native, run_sandbox

# Objects that must all be gone once the program has closed its rings and its
# forked children have exited.
GONE = ("rings", "ring_objects", "requests", "timers", "poll_waits", "poll_watches",
        "loop_fds", "task_work")


def live(stderr):
    snaps = {}
    for label, fields in re.findall(r"pysentry: live ([a-z ]+): (.*)", stderr):
        snaps[label] = {k: int(v) for k, v in (kv.split("=") for kv in fields.split())}
    assert set(snaps) == {"at start", "at program exit", "after teardown"}, stderr
    return snaps


def churn(n):
    proc = run_sandbox("churn", "all", n, options=["--stats"], timeout=300)
    out = check(proc)
    assert out == check(run_native("churn", "all", n))
    return live(proc.stderr)


def test_churn_leaves_nothing_live_and_fds_flat():
    small, big = churn(20), churn(200)
    for snaps in (small, big):
        for label in ("at program exit", "after teardown"):
            assert {k: snaps[label][k] for k in GONE} == dict.fromkeys(GONE, 0), (label, snaps)
        # Cancelled timers leave the heap lazily, but it is compacted (tracer.py).
        assert snaps["after teardown"]["timer_heap"] <= 64
        assert snaps["after teardown"]["sentry_fds"] == snaps["at start"]["sentry_fds"]
    # 10x the churn, the same number of Sentry fds while the program runs.
    assert big["at program exit"]["sentry_fds"] == small["at program exit"]["sentry_fds"]
