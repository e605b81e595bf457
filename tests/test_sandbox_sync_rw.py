"""pread64/pwrite64/read/write on regular files against Linux: run on the
host in the program (sentry/syscalls/file_io.py), passed by the C trap
step (platform/native/trap.c) by default and by Python with
PYSENTRY_PY_TRAP=1; and served by the Sentry with PYSENTRY_SERVE_FILES=1
(tools/bench.py's served row) -- through the short path and C's copy of it,
and through the general Python path with PYSENTRY_PY_TRAP=1 too."""
import pytest

from harness import check, run_native, run_sandbox


@pytest.mark.parametrize("env,options", [
    ({}, ()), ({"PYSENTRY_PY_TRAP": "1"}, ("--cpu-policy", "none")),
    ({"PYSENTRY_SERVE_FILES": "1"}, ()),
    ({"PYSENTRY_SERVE_FILES": "1", "PYSENTRY_PY_TRAP": "1"}, ("--cpu-policy", "none"))],
    ids=["c-trap", "python-trap", "served-c-trap", "served-python-trap"])
def test_sync_reads_and_writes_match_linux(tmp_path, env, options):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    native = check(run_native("sync_rw", tmp_path / "native"))
    sandboxed = check(run_sandbox("sync_rw", tmp_path / "sandbox", env=env, options=options))
    assert sandboxed == native
    assert "pread into half a buffer: 4096" in native
    assert "pwrite from half a buffer: 4096" in native        # what was copied is written
    assert "pread ring fd: -1 ESPIPE" in native               # not FMODE_PREAD
    assert "pread negative offset: -1 EINVAL" in native


@pytest.mark.parametrize("env,traced", [({}, False), ({"PYSENTRY_DATAPLANE": "0"}, False),
                                        ({}, True)],
                         ids=["data-plane", "python", "traced"])
def test_uring_plain_reads_and_writes_match_linux(tmp_path, env, traced):
    """READ/WRITE/READV/WRITEV at an offset on a regular file run in the C
    data plane (sentry/iouring/dataplane.py) by default; with it off, or
    with --trace-uring, every SQE takes the Python path instead.  All match
    Linux."""
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    options = ("--trace-uring", "--trace-file", str(tmp_path / "trace")) if traced else ()
    native = check(run_native("uring_rw_simple", tmp_path / "native"))
    sandboxed = check(run_sandbox("uring_rw_simple", tmp_path / "sandbox", options=options,
                                  env=env))
    assert sandboxed == native
    assert "half buffer write: user_data=31 res=4096 flags=0" in native
    assert native.count("overflow:") == 24
