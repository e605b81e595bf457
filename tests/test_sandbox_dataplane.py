"""The C data plane (sentry/iouring/dataplane.py) against Linux, and against
the Python path it stands in for: each program runs natively and in the
sandbox with the data plane on (the default) and forced off
(PYSENTRY_DATAPLANE=0), and both sandboxed runs must print exactly what
Linux prints.  tests/c/dataplane.c and dataplane_sqpoll.c aim at the hot
ops' edges (CQE_SKIP_SUCCESS, prep failures mid-batch, copy faults, the file
position, overflow, drain and links, files swapped under an SQ thread);
the others are existing programs whose requests the data plane now runs."""
import re

import pytest

from harness import check, run_sandbox, same_as_native

MODES = {"on": {"PYSENTRY_DATAPLANE": "1"}, "off": {"PYSENTRY_DATAPLANE": "0"}}


def _files(tmp_path, side, n):
    return [tmp_path / ("%s%d.dat" % (side, i)) for i in range(n)]


# (program, number of scratch files it takes)
PROGRAMS = [("dataplane", 1), ("dataplane_sqpoll", 3), ("rw_file", 1), ("fixed_rsrc", 1),
            ("sqpoll", 0), ("overflow_nodrop", 0), ("timeouts", 0), ("eventfd_notify", 0),
            ("ring_raw", 0), ("short_submit", 0), ("wait_semantics", 0), ("streams", 0),
            ("defer_taskrun", 0), ("read_multishot", 0), ("restrictions", 0),
            ("sync_cancel", 0), ("poll_ops", 0),
            # uapi's programs whose rings carry hot ops: READ/WRITE with
            # attributes (which C must leave to Python), vectored and cloned
            # fixed buffers, enters through registered ring fds, the new
            # enter flags' waits and futex wakes around hot NOPs.
            ("rw_attr", 0), ("rw_vec_fixed", 0), ("clone_buffers", 0), ("ring_fds", 0),
            ("enter_flags", 0), ("mem_region", 0), ("futex_ops", 0)]


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name,nfiles", PROGRAMS)
def test_same_as_linux_with_the_data_plane_on_and_off(tmp_path, name, nfiles, mode):
    same_as_native(name, *_files(tmp_path, "s", nfiles),
                   native_args=_files(tmp_path, "n", nfiles), env=MODES[mode])


def _data_plane_counts(stderr):
    """(SQEs in io_uring_enter, in SQ threads) from --stats' data plane line."""
    m = re.search(r"data plane: (\d+) SQEs in C \(enter (\d+), SQ thread (\d+)\)", stderr)
    assert m, stderr
    assert int(m.group(1)) == int(m.group(2)) + int(m.group(3))
    return int(m.group(2)), int(m.group(3))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_data_plane_runs_only_when_on(tmp_path, mode):
    enter_prog = run_sandbox("dataplane", tmp_path / "a.dat", options=["--stats"],
                             env=MODES[mode])
    check(enter_prog)
    sqpoll_prog = run_sandbox("dataplane_sqpoll", *_files(tmp_path, "b", 3),
                              options=["--stats"], env=MODES[mode])
    check(sqpoll_prog)
    in_enter, _ = _data_plane_counts(enter_prog.stderr)
    _, in_sqthread = _data_plane_counts(sqpoll_prog.stderr)
    if mode == "on":
        assert in_enter >= 30           # most of dataplane.c's hot requests
        assert in_sqthread > 1000       # most of its 2,400+ reads
    else:
        assert (in_enter, in_sqthread) == (0, 0)


def test_a_traced_ring_stays_in_python(tmp_path):
    # --trace-uring shows every SQE: the data plane stands aside.
    proc = run_sandbox("dataplane", tmp_path / "a.dat", options=["--trace-uring", "--stats"])
    check(proc)
    assert _data_plane_counts(proc.stderr) == (0, 0)
    assert "SQE READ_FIXED(" in proc.stderr


def test_fault_injection_keeps_every_request_in_python(tmp_path):
    # --inject rules apply on the Python path only, so with any rule given
    # the data plane stands aside even untraced: READs and NOPs are hot ops
    # it would otherwise run (and the rules would silently miss them).
    data = tmp_path / "in.txt"
    data.write_text("x" * 10000)
    cat = run_sandbox("inject_cat", "cat", data, 4096,
                      options=["--stats", "--inject", "op=READ,nth=2:errno=ENOSPC"])
    assert cat.returncode == 1, cat.stderr
    assert "read #2 at offset 4096: No space left on device" in cat.stderr
    assert _data_plane_counts(cat.stderr) == (0, 0)
    nops = run_sandbox("inject_cat", "nops", 4, options=["--stats", "--inject", "op=NOP,nth=2:reorder"])
    assert "order: 1:0 3:0 4:0 2:0" in check(nops)
    assert _data_plane_counts(nops.stderr) == (0, 0)
