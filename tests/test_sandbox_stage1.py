"""Integration tests: C programs run natively (the host kernel is the
specification) and inside the real sandbox; outputs must match exactly.

Every test here starts the real `pysentry run`; if the sandbox cannot start,
the test fails.
"""
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from harness import REPO, build, check, run_native, run_sandbox, sandbox_cmd


def same_as_native(name, *args, native_args=None):
    native = check(run_native(name, *(native_args if native_args is not None else args)))
    sandboxed = check(run_sandbox(name, *args))
    assert sandboxed == native
    return sandboxed


def test_setup_parameter_validation_matches_linux():
    out = same_as_native("setup_params")
    assert "zero-entries: errno=EINVAL" in out
    assert "entries-3: ok sq_entries=4 cq_entries=8" in out
    assert "entries-32769-clamp: ok sq_entries=32768 cq_entries=65536" in out
    assert "cqsize-100: ok sq_entries=4 cq_entries=128" in out
    assert "resv-nonzero: errno=EINVAL" in out
    assert "bad-params: errno=EFAULT" in out
    assert "cloexec: 1" in out


def test_raw_ring_nops_and_enter_errors_match_linux():
    out = same_as_native("ring_raw")
    assert "plain: enter(3 nops, wait 3) = 3" in out
    assert "plain: user_data=3 res=0" in out
    assert "plain: user_data=10 res=-22" in out          # unknown opcode
    assert "plain: user_data=11 res=-22" in out          # unknown sqe flag
    assert "no-sqarray: user_data=2 res=0" in out
    assert "enter on a pipe: -1 EOPNOTSUPP" in out
    assert "enter on a bad fd: -1 EBADF" in out
    assert "read on the ring fd: -1 EINVAL" in out
    assert "submit with a bad sq index: 0 dropped=1" in out


def test_ring_mmap_rejects_offsets_outside_the_regions():
    out = check(run_sandbox("ring_raw", "--strict-mmap"))
    assert "mmap at a bad offset: EINVAL" in out
    assert "mmap of oversized sqes: EINVAL" in out


def test_regular_file_io_matches_linux_and_read2(tmp_path):
    out = same_as_native("rw_file", tmp_path / "sandbox.dat",
                         native_args=[tmp_path / "native.dat"])
    assert "pread 2: 4096 match=1" in out                # io_uring WRITE seen by pread(2)
    assert "readv: 12288 match=1" in out
    assert "lseek(SEEK_CUR) after: 200" in out           # offset -1 uses and moves f_pos
    assert "pread sees: POSITION" in out
    assert "read into a bad pointer: -14" in out
    assert "read on a bad fd: -9" in out
    assert "readv with too many iovecs: -22" in out
    assert "read with unknown rw flags: -95" in out
    assert "failed link cqe user_data=711 res=-125" in out
    assert "read(2) from a bad pointer: -1 EFAULT" in out
    assert "io_uring sees write(2): 4 SYNC" in out


def test_streams_wait_for_readiness_like_linux():
    out = same_as_native("streams")
    assert "pipe read: user_data=1 res=11 data=from-thread" in out
    assert "read at EOF: user_data=3 res=0" in out
    assert "nowait read: user_data=4 res=-11" in out
    assert "eventfd value: 42" in out
    assert "socket read: user_data=7 res=11 data=socket-data" in out


def test_wait_timeouts_signals_and_sigmask_match_linux():
    out = same_as_native("wait_semantics")
    assert "timeout: -62 waited-enough=1" in out
    assert "signal during wait: -4" in out
    assert "submit 1 then wait for 5 (interrupted): 1" in out
    assert "masked signal during timed wait: -62 delivered-after=1" in out
    assert "sigmask bad pointer: -14" in out
    assert "SA_RESTART signal during wait: -4" in out


# The opcodes the Sentry implements; later stages extend this set.
IMPLEMENTED_OPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                   22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
                   42, 43, 44, 45, 47, 48, 49, 54, 55, 56, 57, 62]


def test_probe_matches_linux_for_implemented_ops():
    out = same_as_native("probe")
    assert "op 22 supported: 1" in out
    assert "dirty probe buffer: -1 EINVAL" in out
    assert "register on a non-ring fd: -1 EOPNOTSUPP" in out


def test_probe_claims_exactly_what_is_implemented():
    out = check(run_sandbox("probe", "--all"))
    assert out == "supported: %s\n" % " ".join(map(str, IMPLEMENTED_OPS))


def test_fixed_files_and_buffers_match_linux(tmp_path):
    out = same_as_native("fixed_rsrc", tmp_path / "s.dat", native_args=[tmp_path / "n.dat"])
    assert "register 3 files: 0" in out
    assert "register again: -16" in out
    assert "register a read-only buffer: -14" in out
    assert "write_fixed via fixed file 0: 8192" in out
    assert "read_fixed via fixed file 2: 4000 match=1" in out
    assert "read_fixed past the buffer end: -14" in out
    assert "fixed file slot 1 is empty: -9" in out
    assert "fixed file after close(2): 10" in out
    assert "unregister buffers again: -6" in out


def test_registered_eventfd_matches_linux():
    out = same_as_native("eventfd_notify")
    assert "register a pipe: -22" in out
    assert "after a nop, eventfd signalled: 1" in out
    assert "eventfd readable after async completion: 1" in out
    assert "disabled: signalled=0" in out
    assert "after unregister: signalled=0" in out


def test_poll_add_remove_multishot_match_linux():
    out = same_as_native("poll_ops")
    assert "oneshot: user_data=1 res=0x1 more=0" in out
    assert "remove: user_data=5 res=0xffffff83 more=0" in out       # -ECANCELED
    assert "remove unknown: user_data=7 res=0xfffffffe more=0" in out   # -ENOENT
    assert "multishot event 2: user_data=8 res=0x1 more=1" in out
    assert "after update: user_data=80 res=0x1 more=1" in out
    assert "after events update: user_data=80 res=0x41 more=1" in out
    assert "after events update, again: user_data=80 res=0x41 more=1" in out
    assert "bad fd: user_data=13 res=0xfffffff7 more=0" in out


def test_timeouts_link_timeouts_and_cancel_match_linux():
    out = same_as_native("timeouts")
    assert "timeout: user_data=1 res=-62 more=0" in out
    assert "waited-enough=1" in out
    assert "count: user_data=2 res=0 more=0" in out
    assert "remove: user_data=5 res=-125 more=0" in out
    assert "link timeout fires: user_data=20 res=-125 more=0" in out
    assert "link timeout fires: user_data=21 res=-62 more=0" in out
    assert "link timeout cancelled: user_data=23 res=-125 more=0" in out
    assert "cancel all by fd: user_data=34 res=2 more=0" in out
    assert "timeouts do not count: user_data=41 res=-62 more=0" in out


def test_sqpoll_submits_without_any_trap():
    native = check(run_native("sqpoll"))
    proc = run_sandbox("sqpoll", options=["--stats"])
    assert check(proc) == native
    assert "round 2: 4 completions" in native
    assert "need wakeup after idle: 1" in native
    # 12 NOPs went through the SQ thread; only the final submit-and-wait
    # (and at most one wake-up) entered the kernel.
    enters = [ln for ln in proc.stderr.splitlines() if " io_uring_enter " in ln]
    assert enters and int(enters[0].split()[-1]) <= 2, proc.stderr


def test_disabled_rings_and_restrictions_match_linux():
    out = same_as_native("restrictions")
    assert "submit while disabled: -77" in out            # -EBADFD
    assert "register them again: -16" in out
    assert "queued nop res: 0" in out
    assert "forbidden fsync: -13" in out                   # -EACCES
    assert "forbidden flag: -13" in out
    assert "forbidden register: -13" in out
    assert "restrictions on an enabled ring: -77" in out
    # Linux ignores the reserved fields, registers nothing when an entry is
    # bad, and takes an empty list (which then allows nothing).
    assert out.splitlines()[-8:] == [
        "bad restriction entry: -22", "garbage in reserved fields: 0", "enable r3: 0",
        "r3 nop: 0", "empty restrictions: 0", "enable r4: 0", "r4 nop: -13", "r4 probe: -13"]


def test_cq_overflow_loses_no_completion():
    out = same_as_native("overflow_nodrop")
    assert "overflow flag set: 1" in out
    assert "reaped: 32 out-of-order-or-failed: 0" in out


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


def test_garbage_sqes_get_one_cqe_each():
    proc = run_sandbox("garbage", 300)
    out = check(proc)
    sqes = int(out.split()[1])
    assert out == "sqes: %d cqes: %d out-of-order: 0\n" % (sqes, sqes)
    assert "internal error" not in proc.stderr


def test_int80_abi_is_served_by_the_sentry():
    out = check(run_sandbox("abi_compat", options=["--trace-syscalls"]))
    assert "int80 setup: ok sq_entries=4 cq_entries=8" in out
    assert "int80 enter: 0" in out


def test_x32_numbers_are_trapped_not_passed_to_the_host():
    proc = run_sandbox("abi_compat", options=["--trace-syscalls"])
    check(proc)
    assert "io_uring_setup/x32" in proc.stderr
    assert "io_uring_setup/i386" in proc.stderr


def test_trace_shows_io_uring_traffic():
    proc = run_sandbox("ring_raw", options=["--trace-uring"])
    check(proc)
    assert "[io_uring] setup" in proc.stderr
    assert re.search(r"\[io_uring\] enter tid=\d+ fd=\d+ to_submit=\d+", proc.stderr)
    assert "[io_uring] sqe tid=" in proc.stderr and "op=NOP" in proc.stderr
    assert "[io_uring] cqe user_data=10 res=-22" in proc.stderr


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
    sentry = subprocess.Popen(sandbox_cmd(build("procs"), "sleep"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
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


def test_register_sync_cancel_matches_linux():
    assert same_as_native("sync_cancel").splitlines() == [
        "by user_data: 0",
        "cqes: [ud=0x89 res=-125] pending=0",
        "all by user_data: 3",
        "cqes: [ud=0x90 res=-125] [ud=0x90 res=-125] [ud=0x90 res=-125] pending=0",
        "by fd: 0",
        "cqes: [ud=0x91 res=-125] pending=0",
        "all polls by opcode: 1",
        "cqes: [ud=0 res=-125] pending=0",
        "any: 1",
        "cqes: [ud=0 res=-125] pending=0",
        "nothing to cancel: -2",
        "unknown flag: -22",
        "bad fd: -9",
        "fixed fd without a table: -9",
        "any with fd, nothing left: 0",
        "all by fd, nothing left: 0",
        "ASYNC_CANCEL all, nothing: 0",
        "ASYNC_CANCEL any, nothing: 0",
        "non-zero pad: -22",
        "non-zero pad2: -22",
        "nr_args 2: -22",
        "bad pointer: -14",
    ]
