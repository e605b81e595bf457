"""Faults (issue 11): the program SIGKILLed with requests in flight, in an
io_uring_enter wait and half-way through a syscall the Sentry injects; a
thread leaving its SQPOLL ring; exec and fork with rings open; the Sentry
itself SIGKILLed; SIGSTOP/SIGCONT during waits.  tests/c/faults.c runs each
natively and sandboxed; after every run the Sentry has ended clean: the
exit status a shell would report, nothing live after teardown
(`--stats`, sentry/live.py), its own fds as at start, no process of the
program left and nothing new in /dev/shm.  Hangs are bounded by the
harness's timeouts; nothing here asserts on time.

tests/test_cli_lifecycle.py has the simpler cases (the Sentry SIGKILLed with
a one-process program, processes left behind)."""
import os
import select
import signal
import subprocess
import time

import psutil
import pytest

from harness import REPO, build, run_native, run_sandbox, sandbox_cmd
from test_reliability import GONE, live

# x86-64 syscall numbers for the Sentry's test hook (platform/tracer.py).
NR_MMAP, NR_RECVMSG, NR_OPENAT = 9, 47, 257


def shell_status(returncode):
    """What a shell's $? says: 128+N for death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _pids(stderr):
    return [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("pid ")]


def clean_run(*args, env=None, timeout=60):
    """Run faults.c under the Sentry with --stats; assert it ended clean."""
    before = set(os.listdir("/dev/shm"))
    proc = run_sandbox("faults", *args, options=["--stats"], env=env, timeout=timeout)
    snaps = live(proc.stderr)
    after = snaps["after teardown"]
    assert {k: after[k] for k in GONE} == dict.fromkeys(GONE, 0), proc.stderr
    assert after["timer_heap"] <= 64       # cancelled timers leave lazily
    assert after["sentry_fds"] == snaps["at start"]["sentry_fds"], proc.stderr
    assert set(os.listdir("/dev/shm")) - before == set()
    for pid in _pids(proc.stderr):
        assert not psutil.pid_exists(pid), "process %d outlived the sandbox" % pid
    return proc


@pytest.mark.parametrize("mode", ["inflight", "sqinflight"])
def test_killed_with_requests_in_flight(mode):
    # A READ on a pipe, a 30 s TIMEOUT and a POLL_ADD in flight, the main
    # thread waiting in io_uring_enter, a second thread SIGKILLs the process.
    native = run_native("faults", mode)
    proc = clean_run(mode)
    assert shell_status(native.returncode) == proc.returncode == 128 + signal.SIGKILL
    assert proc.stdout == native.stdout == "submitted 3\n"


@pytest.mark.parametrize("nr,nth,what", [
    (NR_RECVMSG, 1, "setup: the ring fd on its way to the program (SCM_RIGHTS)"),
    (NR_MMAP, 1, "the SQ ring being mapped"),
    (NR_MMAP, 2, "the CQ ring being mapped"),
    (NR_OPENAT, 1, "an OPENAT request's open, injected on the program's behalf"),
])
def test_killed_in_an_injected_syscall(tmp_path, nr, nth, what):
    # The hook SIGKILLs the process as the Sentry injects the call, with the
    # thread's registers rewritten and the handler half-way through.
    target = tmp_path / "f"
    target.write_text("x")
    proc = clean_run("open", target, env={"PYSENTRY_TEST_KILL_AT_INJECT": "%d:%d" % (nr, nth)})
    assert "test hook: SIGKILL at injected syscall %d" % nr in proc.stderr, what
    assert proc.returncode == 128 + signal.SIGKILL
    assert "openat:" not in proc.stdout
    # Without the hook the same program runs to the end.
    assert clean_run("open", target).stdout == "ring ready\nopenat: ok\n"


@pytest.mark.parametrize("dataplane", ["1", "0"])
def test_sqpoll_ring_outlives_its_creator_thread(tmp_path, dataplane):
    # Linux: the SQ thread belongs to the process, so the ring goes on serving
    # the other threads' SQEs after the thread that made it has exited.  The
    # joiner submits as soon as pthread_join returns, which is before the
    # Sentry reaps the thread's exit: the ring's submissions must have moved
    # to a live thread at the exit's ptrace stop (they failed with
    # EBADF/ESRCH, charged to the dead thread).
    native = run_native("faults", "sqexit", tmp_path / "n")
    proc = clean_run("sqexit", tmp_path / "s", env={"PYSENTRY_DATAPLANE": dataplane})
    assert native.returncode == proc.returncode == 0
    assert proc.stdout == native.stdout


def test_exec_with_rings_open():
    # execve cancels what is in flight (the READ does not take the data
    # written after it), the ring fd is O_CLOEXEC, the new image makes a ring.
    native = run_native("faults", "exec")
    proc = clean_run("exec")
    assert native.returncode == proc.returncode == 0
    assert proc.stdout == native.stdout
    assert "old ring fd after exec: Bad file descriptor" in proc.stdout
    assert 'pipe read after exec: 5 "after"' in proc.stdout
    assert "new ring nop: user_data=77 res=0" in proc.stdout


@pytest.mark.parametrize("dataplane", ["1", "0"])
def test_fork_child_submits_on_the_inherited_ring(tmp_path, dataplane):
    # The child's SQEs use the child's memory (its copy of the buffers); the
    # parent then submits on the same ring.
    native = run_native("faults", "fork", tmp_path / "n")
    proc = clean_run("fork", tmp_path / "s", env={"PYSENTRY_DATAPLANE": dataplane})
    assert native.returncode == proc.returncode == 0
    assert proc.stdout == native.stdout
    assert 'file: "written by the child" + "parent\'s buffer"' in proc.stdout


def _gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sentry_killed_takes_threads_children_and_sqpoll_rings():
    # The program has an SQPOLL ring with a poll armed, threads in
    # io_uring_enter, a futex and a pipe read, and a forked child waiting on
    # a ring of its own.  SIGKILL the Sentry: all of it dies
    # (PTRACE_O_EXITKILL on every task) and /dev/shm has nothing new.
    before = set(os.listdir("/dev/shm"))
    env = dict(os.environ, PYTHONPATH=REPO)
    sentry = subprocess.Popen(sandbox_cmd(build("faults"), "hold"), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
    try:
        line = sentry.stdout.readline()
        assert line.startswith("ready "), line
        pids = [int(p) for p in line.split()[1:]]
        tids = [int(t) for t in os.listdir("/proc/%d/task" % pids[0])]
        assert len(tids) == 4
        sentry.kill()
        sentry.wait(timeout=10)
        t0 = time.monotonic()
        deadline = t0 + 10                 # a bound against hangs, not a figure
        while not all(map(_gone, pids + tids)) and time.monotonic() < deadline:
            time.sleep(0.01)
        left = [p for p in pids + tids if not _gone(p)]
        assert not left, "outlived the Sentry: %s" % left
    finally:
        if sentry.poll() is None:
            sentry.kill()
            sentry.wait()
    assert set(os.listdir("/dev/shm")) - before == set()


def _state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _stop_run(cmd, env=None):
    """Start faults stop WHAT, SIGSTOP it once its main thread sleeps in the
    wait, SIGCONT it once stopped, give it a line on stdin; its output."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        assert proc.stdout.readline() == "waiting\n"
        pid = proc.pid
        if env is not None:        # the program is the Sentry's child
            pid = psutil.Process(proc.pid).children()[0].pid
        deadline = time.monotonic() + 30
        while _state(pid) != "S" and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        os.kill(pid, signal.SIGSTOP)
        while _state(pid) not in ("T", "t") and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(pid, signal.SIGCONT)
        # A wait that ends with EINTR says so at once; one that Linux restarts
        # says nothing until it has its data.
        out = ""
        if select.select([proc.stdout], [], [], 2)[0]:
            out = proc.stdout.readline()
        rest, err = proc.communicate("go\n", timeout=30)
        return proc.returncode, out + rest, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


STOP_OUTPUT = {
    "enter": 'wait: Interrupted system call\nread cqe: res=3 "go\n"\n',
    "entertimeout": 'wait: Interrupted system call\nread cqe: res=3 "go\n"\n',
    "futex": "futex wait: 0, word 1\n",
    "read": 'read: 3 "go\n"\n',
}


@pytest.mark.parametrize("what", sorted(STOP_OUTPUT))
def test_stop_and_continue_during_a_wait(what):
    # Linux: io_uring_enter's CQ wait ends with EINTR when a stop signal
    # wakes it (io_run_task_work_sig), with or without a timeout; a futex
    # wait and a pipe read are restarted and complete.
    native = _stop_run([build("faults"), "stop", what])
    env = dict(os.environ, PYTHONPATH=REPO)
    sandboxed = _stop_run(sandbox_cmd(build("faults"), "stop", what, options=["--stats"]),
                          env=env)
    assert native[0] == sandboxed[0] == 0, sandboxed
    assert sandboxed[1] == native[1] == STOP_OUTPUT[what], sandboxed
    snaps = live(sandboxed[2])
    assert {k: snaps["after teardown"][k] for k in GONE} == dict.fromkeys(GONE, 0)


def test_program_killed_while_its_children_make_threads():
    # Threads caught being born when the program dies stop at their exit
    # (PTRACE_EVENT_EXIT) before the Sentry has heard of them: it must let
    # them go, or their processes' leaders stay zombies and the Sentry waits
    # for them forever.  Several runs: each catches a few such threads.
    for _ in range(3):
        proc = clean_run("clonekill", 4)
        assert proc.returncode == 128 + signal.SIGKILL, proc.stderr


# Load (tests/c/load.c): 64 threads x 4 rings each writing and reading back
# their own regions of one file, with forked children of 8 threads doing the
# same meanwhile; every block is compared.  About 6 s each sandboxed on an
# idle 2-CPU machine; the C data plane's run is the bigger one.
@pytest.mark.parametrize("dataplane,rounds,children", [("1", 200, 8), ("0", 100, 4)])
def test_load_threads_rings_and_children(tmp_path, dataplane, rounds, children):
    args = (64, 4, rounds, children, 8)
    native = run_native("load", tmp_path / "n", *args)
    before = set(os.listdir("/dev/shm"))
    proc = run_sandbox("load", tmp_path / "s", *args, options=["--stats"], timeout=300,
                       env={"PYSENTRY_DATAPLANE": dataplane})
    assert native.returncode == proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == native.stdout == (
        "threads 64 x 4 rings, %d rounds: %d requests, 0 wrong\n"
        "children %d x 8 threads: %d requests, 0 wrong\n"
        % (rounds, 64 * 32 * rounds, children, children * 8 * 32 * rounds))
    snaps = live(proc.stderr)
    assert {k: snaps["after teardown"][k] for k in GONE} == dict.fromkeys(GONE, 0)
    assert snaps["after teardown"]["sentry_fds"] == snaps["at start"]["sentry_fds"]
    assert set(os.listdir("/dev/shm")) - before == set()
