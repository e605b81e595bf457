"""io_uring_enter served in C by the trap step (platform/native/trap.c,
dataplane.c ps_dp_enter): tests/c/enter_step.c against Linux with the step
on, with the data plane off (PYSENTRY_DATAPLANE=0, which turns the C
io_uring_enter off too) and with the trap step off (PYSENTRY_TRAP_STEP=0:
every enter through Python); and --stats showing that C served the enters
of a NOP loop, with the same syscall and SQE counts as Python's path."""
import re

import pytest

from harness import check, run_native, run_sandbox

MODES = {"step": {}, "no-dataplane": {"PYSENTRY_DATAPLANE": "0"},
         "no-step": {"PYSENTRY_TRAP_STEP": "0"}}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_enter_step_matches_linux(tmp_path, mode):
    native = check(run_native("enter_step", tmp_path / "n.dat"))
    sandboxed = check(run_sandbox("enter_step", tmp_path / "s.dat", env=MODES[mode]))
    assert sandboxed == native
    assert "nop: 300 enters, bad 0" in native
    assert "read: 200 enters, bad 0" in native
    assert "readv: 1 res 11 'hello world'" in native
    assert "mixed batch: 3 'piped'" in native
    assert "wait for 2: 1 'later'" in native
    assert "child: exit 0" in native
    assert "defer taskrun GETEVENTS: 1 'defer'\ncqes: (311 0) (310 5)" in native


def _stats(stderr):
    served = re.search(r"io_uring_enter served whole in C by the trap step: (\d+)", stderr)
    enters = re.search(r"io_uring_enter calls: (\d+), SQEs: (\d+)", stderr)
    in_c = re.search(r"data plane: \d+ SQEs in C \(enter (\d+),", stderr)
    traps = re.search(r"^pysentry:\s+io_uring_enter\s+(\d+)", stderr, re.M)
    assert served and enters and in_c and traps, stderr
    return (int(served.group(1)), int(enters.group(1)), int(enters.group(2)),
            int(in_c.group(1)), int(traps.group(1)))


def test_enter_step_serves_and_counts(tmp_path):
    """--stats: the NOP loop's enters were served whole in C, and counted as
    Python counts them (io_uring_enter calls, SQEs, trapped syscalls)."""
    got = {}
    for mode, env in MODES.items():
        proc = run_sandbox("enter_step", tmp_path / ("%s.dat" % mode), "many", env=env,
                           options=("--stats",))
        assert check(proc) == "nop: 3000 enters, bad 0\n"
        got[mode] = _stats(proc.stderr)
    served, enters, sqes, in_c, traps = got["step"]
    # Python serves the first enter (it registers the thread with the ring).
    assert served >= 2990 and in_c >= 2990
    assert (enters, sqes, traps) == (3000, 3000, 3000)
    assert got["no-dataplane"] == (0, 3000, 3000, 0, 3000)
    # Without the trap step the data plane still runs the NOPs, in Python's enter.
    assert got["no-step"] == (0, 3000, 3000, 3000, 3000)
