"""Proof that pysentry never uses the host's io_uring: switch it off
(kernel.io_uring_disabled=2, needs root) and the programs still pass in the
sandbox while they fail natively.  The setting is always restored."""
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


def test_native_io_uring_is_really_off(host_io_uring_off, tmp_path):
    native = run_native("ring_raw")
    assert native.returncode != 0
    native = run_native("rw_file", tmp_path / "native.dat")     # liburing
    assert native.returncode != 0
    # Even the i386 entry point is refused by the host.
    native = check(run_native("abi_compat"))
    assert "int80 setup: EPERM" in native


@pytest.mark.parametrize("name,args", [
    ("ring_raw", ()),
    ("ring_mmap", ()),
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


def test_other_syscall_abis_with_host_io_uring_off(host_io_uring_off):
    proc = run_sandbox("abi_compat", options=["--trace-syscalls"])
    out = check(proc)
    assert "int80 setup: ok sq_entries=4 cq_entries=8" in out
    assert "int80 enter: 0" in out
    # x32: a ring, or the host's own answer for x32 numbers (ENOSYS without
    # CONFIG_X86_X32_ABI) -- never the EPERM of a disabled host io_uring.
    assert ("x32 setup: ok" in out) or ("x32 setup: ENOSYS" in out), out
    assert "io_uring_setup/x32" in proc.stderr     # the Sentry dispatched it
