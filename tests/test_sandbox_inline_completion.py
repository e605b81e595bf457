"""A READ/READV of page-cached data completes inside the io_uring_enter that
submits it, on Linux and in the Sentry (tests/c/inline_completion.c): the CQE
is in the ring and the ring fd readable when the call returns.  qemu's
io_uring driver decides on exactly that (docs/performance.md: its two eventfd
writes per request come from it, natively too), so both paths are checked:
the C data plane and, with it off, the Python one."""
import pytest

from harness import check, run_native, run_sandbox


@pytest.mark.parametrize("env", [{}, {"PYSENTRY_DATAPLANE": "0"}], ids=["data-plane", "python"])
def test_cached_reads_complete_inside_the_enter_as_on_linux(tmp_path, env):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    native = check(run_native("inline_completion", tmp_path / "native"))
    sandboxed = check(run_sandbox("inline_completion", tmp_path / "sandbox", env=env))
    assert sandboxed == native
    assert native.splitlines() == [
        "READ of cached pages: CQE there at return 32/32, ring fd readable 32/32, right 32/32",
        "READV of cached pages: CQE there at return 32/32, ring fd readable 32/32, right 32/32",
    ]
