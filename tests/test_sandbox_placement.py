"""CPU placement (platform/placement.py) changes where things run, never what
the program sees through its own calls: sched_getaffinity/sched_setaffinity
behave as natively under every policy, threads that make no syscalls keep
their whole mask (they still run in parallel), and a program that sets its
own mask runs where it asked.  Behaviour only: speed is the benchmark's
business (tools/bench.py)."""
import os
import subprocess
import sys

import pytest

from harness import REPO, build, check, run_native, run_sandbox

TWO_CPUS = len(os.sched_getaffinity(0)) >= 2
needs_two = pytest.mark.skipif(not TWO_CPUS, reason="placement needs two CPUs to do anything")


@pytest.mark.parametrize("policy", ["auto", "none", "pin:0"])
def test_affinity_calls_match_linux(policy):
    native = check(run_native("affinity"))
    sandboxed = check(run_sandbox("affinity", options=("--cpu-policy", policy)))
    assert sandboxed == native
    assert "set to second cpu: ok" in native or not TWO_CPUS
    assert "runs on it: yes" in native or not TWO_CPUS
    assert "len 4: ret=-1 EINVAL" in native


@needs_two
def test_affinity_calls_match_linux_under_taskset():
    """Started on one CPU of two (taskset, a cpuset): the program sees that
    mask, may widen it as natively, and placement never widens it itself."""
    prog = build("affinity")
    native = check(subprocess.run(["taskset", "-c", "1", prog], capture_output=True, text=True,
                                  timeout=60))
    sandboxed = check(subprocess.run(
        ["taskset", "-c", "1", sys.executable, "-m", "pysentry", "run", "--", prog],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=REPO)))
    assert sandboxed == native
    assert "ok cpus=1, count=1" in native.splitlines()[0]


@needs_two
def test_threads_without_syscalls_are_not_confined():
    """Two busy threads: the host lets each run on every CPU of the mask, so
    they run in parallel as natively (only the thread that makes the
    syscalls is ever pinned beside the Sentry)."""
    native = check(run_native("affinity", "spread"))
    sandboxed = check(run_sandbox("affinity", "spread"))
    assert sandboxed == native
    assert native.count("worker") == 2


def _host_mask_after_syscalls(policy):
    """Cpus_allowed_list as the host shows it to a thread that has just made
    many trapped syscalls (the documented difference: /proc shows the host
    mask, not the program's own)."""
    out = check(run_sandbox("affinity", "busy", options=("--cpu-policy", policy)))
    return out.strip().rsplit(None, 1)[-1]


@needs_two
def test_auto_pins_the_trapping_thread_to_one_cpu():
    assert _host_mask_after_syscalls("auto") in {str(c) for c in os.sched_getaffinity(0)}


@needs_two
def test_pin_policy_and_none():
    assert _host_mask_after_syscalls("pin:1") == "1"
    native = check(run_native("affinity", "busy")).strip().rsplit(None, 1)[-1]
    assert _host_mask_after_syscalls("none") == native


def test_cpu_policy_is_checked():
    for bad in ("sideways", "pin:x", "pin:-1"):
        proc = run_sandbox("affinity", options=("--cpu-policy", bad))
        assert proc.returncode == 2 and "--cpu-policy" in proc.stderr
    proc = run_sandbox("affinity", options=("--cpu-policy", "pin:4095"))
    assert proc.returncode == 2 and "not in pysentry's affinity mask" in proc.stderr


def test_check_names_the_policy():
    for policy, words in (("auto", "auto:"), ("none", "none:"), ("pin:0", "pin:0:")):
        proc = subprocess.run([sys.executable, "-m", "pysentry", "run", "--check", "--cpu-policy",
                               policy], capture_output=True, text=True, cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=REPO), timeout=60)
        assert proc.returncode == 0
        line = [l for l in proc.stdout.splitlines() if "cpu placement" in l]
        assert line and words in line[0], proc.stdout
