"""The C trap step (platform/native/trap.c ps_trap_loop): read/write/
pread64/pwrite64 on held files but rings passed to the host without a
return to Python, regular files included, or with PYSENTRY_SERVE_FILES=1
a regular file's pread64/pwrite64 served by C -- offsets,
EFAULT and partial copies, open modes, an fd closed by another thread,
threads, fork and a 1 ms signal timer -- against Linux, with the step on
and off (PYSENTRY_TRAP_STEP=0: every stop through Python, as before), and
--stats counting the calls C served."""
import re

import pytest

from harness import check, run_native, run_sandbox

MODES = [({}, ()), ({"PYSENTRY_TRAP_STEP": "0"}, ()), ({}, ("--cpu-policy", "none")),
         ({"PYSENTRY_DATAPLANE": "0"}, ()), ({"PYSENTRY_SERVE_FILES": "1"}, ())]


@pytest.mark.parametrize("env,options", MODES, ids=["step", "no-step", "step-unplaced",
                                                    "step-no-dataplane", "step-served"])
def test_trap_step_matches_linux(tmp_path, env, options):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    native = check(run_native("trap_step", tmp_path / "native"))
    sandboxed = check(run_sandbox("trap_step", tmp_path / "sandbox", env=env,
                                  options=options))
    assert sandboxed == native
    assert "pread into half a buffer (2): 96" in native
    assert "pwrite from half a buffer (2): 96" in native
    assert "pread closed fd (2): -1 EBADF" in native
    assert "thread pread after close: -1 EBADF" in native
    assert "reader while closed: ended with EBADF, bad data 0" in native
    assert "pread huge count (2): -1 EFAULT" in native
    assert "EINTR 0, other failures 0, handler ran: yes" in native


def _stat_count(stderr, name):
    m = re.search(r"^pysentry:\s+%s\s+(\d+)" % name, stderr, re.M)
    return int(m.group(1)) if m else 0


def test_trap_step_keeps_stats(tmp_path):
    """--stats counts the calls C served as Python would have (passed to
    the host, or served with PYSENTRY_SERVE_FILES=1)."""
    counts = []
    for env in ({}, {"PYSENTRY_TRAP_STEP": "0"}, {"PYSENTRY_SERVE_FILES": "1"},
                {"PYSENTRY_SERVE_FILES": "1", "PYSENTRY_TRAP_STEP": "0"}):
        d = tmp_path / str(len(counts))
        d.mkdir()
        proc = run_sandbox("trap_step", d, "stats", env=env, options=("--stats",))
        check(proc)
        counts.append((_stat_count(proc.stderr, "pread64"), _stat_count(proc.stderr, "pwrite64")))
    assert counts[0] == counts[1] == counts[2] == counts[3]
    assert counts[0][0] >= 1000 and counts[0][1] >= 16
