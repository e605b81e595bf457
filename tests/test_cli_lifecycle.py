"""`pysentry run` as a command: threads, fork and exec followed, the
program's exit status and death by signal, traces, the demo, and what is
left behind (nothing) when the program or the Sentry goes away."""
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from harness import REPO, build, check, run_native, run_sandbox, sandbox_cmd


def test_threads_fork_exec_and_exit_status():
    native = run_native("procs")
    sandboxed = run_sandbox("procs")
    assert native.returncode == sandboxed.returncode == 3
    assert sandboxed.stdout == native.stdout
    assert "threads wrote their blocks: 4/4" in sandboxed.stdout
    assert "forked child exit: 7" in sandboxed.stdout
    assert "exec ok, nop=0" in sandboxed.stdout
    assert "vfork'd child exit: 0" in sandboxed.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGSEGV, signal.SIGKILL])
def test_death_by_signal_is_reported_like_a_shell(sig):
    proc = run_sandbox("procs", "die", int(sig))
    assert proc.returncode == 128 + sig
    assert signal.Signals(sig).name in proc.stderr


def test_trace_shows_io_uring_traffic():
    proc = run_sandbox("ring_raw", options=["--trace-uring"])
    check(proc)
    # strace-like: names, decoded flags, errno names, latency
    assert re.search(r"\[io_uring\] ring 1 tid \d+ setup\(sq_entries=\d+, cq_entries=\d+", proc.stderr)
    assert re.search(r"\[io_uring\] tid \d+ enter\(fd=\d+, to_submit=\d+", proc.stderr)
    assert re.search(r"\[io_uring\] ring 1 tid \d+ SQE NOP\(fd=\S+, off=0, addr=0x0, len=0\) "
                     r"flags=0 user_data=1\n", proc.stderr)
    assert re.search(r"\[io_uring\] ring 1 CQE \S+ user_data=10 = -EINVAL \(Invalid argument\)",
                     proc.stderr)
    assert re.search(r"\[io_uring\] ring 1 CQE NOP user_data=1 = 0 <0\.\d{6}>", proc.stderr)


def test_json_trace_and_stats(tmp_path):
    import json
    trace = tmp_path / "t.jsonl"
    proc = run_sandbox("rw_file", tmp_path / "f.dat",
                       options=["--trace-uring", "--trace-format", "json", "-o", trace, "--stats"])
    check(proc)
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    reads = [e for e in events if e["ev"] == "cqe" and e["op"] == "READ"]
    assert reads and all(e["latency"] >= 0 for e in reads)
    assert any(e["ev"] == "sqe" and e["op"] == "WRITEV" for e in events)
    assert re.search(r"pysentry: WRITE +\d+ +\d+ +[\d.]+ +[\d.]+", proc.stderr)
    assert "SQEs per enter" in proc.stderr


def test_injected_faults_show_in_the_text_trace(tmp_path):
    data = tmp_path / "in.txt"
    data.write_text("x" * 10000)
    proc = run_sandbox("inject_cat", "cat", data, 4096,
                       options=["--trace-uring", "--inject", "op=READ,nth=2:errno=ENOSPC"])
    assert proc.returncode == 1
    assert "read #2 at offset 4096: No space left on device" in proc.stderr
    assert re.search(r"\[io_uring\] ring 1 CQE READ user_data=2 = -ENOSPC \(No space left on "
                     r"device\) <[\d.]+> \(injected: -ENOSPC\)", proc.stderr), proc.stderr


@pytest.mark.parametrize("rule", ["op=READ", "op=BOGUS:errno=EIO", "op=READ:errno=ENOTANERRNO",
                                  "nth=x:errno=EIO", "colour=red:errno=EIO", "op=READ:explode"])
def test_a_bad_inject_rule_is_refused(rule):
    proc = run_sandbox("inject_cat", "nops", 1, options=["--inject", rule])
    assert proc.returncode == 2
    assert proc.stderr.startswith("pysentry: --inject: "), proc.stderr
    assert proc.stdout == ""


def test_demo_runs_and_narrates():
    src = os.path.join(REPO, "tools", "demo", "uring_demo.c")
    out_bin = os.path.join(REPO, "tests", "build", "uring_demo")
    subprocess.run(["gcc", "-O2", "-o", out_bin, src, "-luring"], check=True)
    proc = subprocess.run(sandbox_cmd(out_bin), capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    out = check(proc)
    assert "submitting 8 WRITEs of 4096 bytes in one io_uring_enter: 8 submitted" in out
    assert "cqe: READV  user_data=200 res=32768" in out
    assert 'pipe delivered: "hello from the child"' in out
    from pysentry.sentry.iouring.setup import FEATURES
    assert "features %#x" % FEATURES in out


def _shm_names():
    return set(os.listdir("/dev/shm"))


def test_nothing_is_left_in_dev_shm():
    before = _shm_names()
    check(run_sandbox("ring_raw"))
    run_sandbox("procs", "die", int(signal.SIGKILL))
    check(run_sandbox("overflow_nodrop"))
    assert _shm_names() - before == set()


def test_program_dies_with_the_sentry_and_leaves_nothing():
    before = _shm_names()
    env = dict(os.environ, PYTHONPATH=REPO)
    sentry = subprocess.Popen(sandbox_cmd(build("procs"), "sleep"), stdout=subprocess.PIPE,
                              text=True, cwd=REPO, env=env)
    try:
        line = sentry.stdout.readline()
        assert line.startswith("ready ")
        child = int(line.split()[1])
        assert psutil.pid_exists(child)
        sentry.send_signal(signal.SIGKILL)
        sentry.wait(timeout=10)
        deadline = time.time() + 10
        while psutil.pid_exists(child) and time.time() < deadline:
            try:
                if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        alive = psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE
        assert not alive, "the program outlived the Sentry"
    finally:
        if sentry.poll() is None:
            sentry.kill()
    assert _shm_names() - before == set()


def test_sentry_interrupted_kills_the_program():
    env = dict(os.environ, PYTHONPATH=REPO)
    # SIGINT as at a terminal: a suite started in the background by a
    # non-interactive shell inherits it ignored (SigIgn), and Python then
    # leaves it ignored in the Sentry too, as any program would.
    sentry = subprocess.Popen(sandbox_cmd(build("procs"), "sleep"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = sentry.stdout.readline()
    child = int(line.split()[1])
    sentry.send_signal(signal.SIGINT)
    assert sentry.wait(timeout=10) == 130
    time.sleep(0.2)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_missing_program_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "pysentry", "run", "--", "/nonexistent/prog"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 127
    assert "No such file or directory" in proc.stderr


def test_processes_left_behind_are_killed_unless_wait_all():
    native = run_native("orphan_ring")
    assert native.returncode == 3
    assert native.stdout == "parent exits\norphan: nop res=0 user_data=7\n"
    # Default: the sandbox ends with its first process, as a container does.
    proc = run_sandbox("orphan_ring")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "parent exits\n"
    # --wait-all serves the orphan until it exits; the status stays the parent's.
    proc = run_sandbox("orphan_ring", options=["--wait-all"])
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == native.stdout
