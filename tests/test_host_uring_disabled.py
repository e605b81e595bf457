"""Proof that pysentry never uses the host's io_uring: switch it off
(kernel.io_uring_disabled=2, needs root) and the programs still pass in the
sandbox while they fail natively.  The setting is always restored."""
import os

import pytest

from harness import check, run_native, run_sandbox

SYSCTL = "/proc/sys/kernel/io_uring_disabled"


@pytest.fixture
def host_io_uring_off():
    with open(SYSCTL) as f:
        saved = f.read().strip()
    try:
        with open(SYSCTL, "w") as f:
            f.write("2")
    except OSError as e:
        pytest.fail("cannot switch the host's io_uring off (%s); these tests need root" % e)
    try:
        yield
    finally:
        with open(SYSCTL, "w") as f:
            f.write(saved)


def test_native_io_uring_is_really_off(host_io_uring_off):
    native = run_native("ring_raw")
    assert native.returncode != 0


@pytest.mark.parametrize("name,args", [
    ("ring_raw", ()),
    ("setup_params", ()),
    ("streams", ()),
    ("wait_semantics", ()),
    ("overflow_nodrop", ()),
    ("abi_compat", ()),
])
def test_sandbox_works_with_host_io_uring_off(host_io_uring_off, name, args):
    out = check(run_sandbox(name, *args))
    assert out


def test_file_io_with_host_io_uring_off(host_io_uring_off, tmp_path):
    out = check(run_sandbox("rw_file", tmp_path / "f.dat"))
    assert "readv: 12288 match=1" in out
    assert "io_uring sees write(2): 4 SYNC" in out


def test_procs_with_host_io_uring_off(host_io_uring_off):
    proc = run_sandbox("procs")
    assert proc.returncode == 3, proc.stderr
    assert "exec ok, nop=0" in proc.stdout
