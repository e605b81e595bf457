"""Ring memory and syscall-ABI checks against the native kernel, and a guard
that every C test program builds cleanly.

Every sandbox test here starts the real `pysentry run`; if the sandbox cannot
start, the test fails.
"""
import glob
import os
import subprocess

import pytest

from harness import C_DIR, check, run_native, run_sandbox, same_as_native

PROGRAMS = sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(C_DIR, "*.c")))


@pytest.mark.parametrize("name", PROGRAMS)
def test_c_program_builds_without_warnings(name, tmp_path):
    proc = subprocess.run(["gcc", "-O2", "-Wall", "-o", str(tmp_path / name),
                           os.path.join(C_DIR, name + ".c"), "-luring", "-lpthread"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr


def test_single_and_separate_ring_mappings_alias_like_linux():
    out = same_as_native("ring_mmap")
    assert "enter(2 nops, wait 2) = 2" in out
    assert "cq tail through both mappings: 2 2" in out
    assert "cqe user_data=101 res=0 same-in-both=1" in out
    assert "cq head through the separate mapping: 2" in out
    assert "after munmap of one mapping: enter=1 user_data=102 res=0" in out
    assert "after close: cq tail=3 head=3" in out


def _lines(out, prefix):
    return [ln for ln in out.splitlines() if ln.startswith(prefix)]


def test_int80_and_x32_results_agree_with_linux():
    native = check(run_native("abi_compat"))
    sandboxed = check(run_sandbox("abi_compat"))
    # int 0x80 io_uring works natively on x86-64; the Sentry must agree.
    assert _lines(sandboxed, "int80 ") == _lines(native, "int80 ")
    assert "int80 setup: ok sq_entries=4 cq_entries=8" in sandboxed
    # x32 numbers: the Sentry may serve a ring, or fail exactly as the host does
    # (ENOSYS on kernels without CONFIG_X86_X32_ABI).
    (x32,) = _lines(sandboxed, "x32 setup: ")
    assert x32 in ("x32 setup: ok", _lines(native, "x32 setup: ")[0])


def test_ring_outlives_a_close_from_another_thread_during_a_wait():
    # Linux holds the ring across io_uring_enter; the Sentry once freed the
    # ring memory under the waiting thread (liburing's socket test).
    lines = same_as_native("close_while_waiting").splitlines()
    assert "close: 0" in lines
    assert "wait: 0 user_data=42 res=-62" in lines       # the timeout still completes


def test_ring_survives_closing_its_original_fd_when_a_dup_is_open():
    out = same_as_native("ring_fd_dup")
    assert out.splitlines() == [
        "dup: 0",
        "F_DUPFD_CLOEXEC fd>=20: 1 cloexec=1 nop=0",
        "F_DUPFD: 0",
        "dup2: 30 nop=0",
        "dup3: 31 nop=0",
        "dup2 same: 31 nop=0",
        "after last close: -9",
    ]


def test_enter_does_not_wait_after_a_short_submission():
    assert same_as_native("short_submit").splitlines() == [
        "to_submit=2 with 1 queued, wait 1: 1 ready=0",
        "bad SQE first, wait 3: 1 ready=1 res=-14 still queued=1",
    ]
