"""The ring itself against Linux: io_uring_setup's parameter checks, raw
SQ/CQ handling and io_uring_enter's errors, mmap offsets, garbage SQEs, CQ
overflow without loss, the int 0x80 and x32 entry points, and the probe."""

from harness import check, run_sandbox, same_as_native

from pysentry.sentry.iouring.opdef import OPS


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
    assert "submit 3 with a bad index second: 1 dropped=2" in out     # the batch ends there


def test_ring_mmap_rejects_offsets_outside_the_regions():
    out = check(run_sandbox("ring_raw", "--strict-mmap"))
    assert "mmap at a bad offset: EINVAL" in out
    assert "mmap of oversized sqes: EINVAL" in out


def test_garbage_sqes_get_one_cqe_each():
    proc = run_sandbox("garbage", 300)
    out = check(proc)
    sqes = int(out.split()[1])
    assert out == "sqes: %d cqes: %d out-of-order: 0\n" % (sqes, sqes)
    assert "internal error" not in proc.stderr


def test_cq_overflow_loses_no_completion():
    out = same_as_native("overflow_nodrop")
    assert "overflow flag set: 1" in out
    assert "reaped: 32 out-of-order-or-failed: 0" in out


def test_int80_abi_is_served_by_the_sentry():
    out = check(run_sandbox("abi_compat", options=["--trace-syscalls"]))
    assert "int80 setup: ok sq_entries=4 cq_entries=8" in out
    assert "int80 enter: 0" in out


def test_x32_numbers_are_trapped_not_passed_to_the_host():
    proc = run_sandbox("abi_compat", options=["--trace-syscalls"])
    check(proc)
    assert "io_uring_setup/x32" in proc.stderr
    assert "io_uring_setup/i386" in proc.stderr


def test_probe_matches_linux_for_implemented_ops():
    out = same_as_native("probe")
    assert "op 22 supported: 1" in out
    assert "dirty probe buffer: -1 EINVAL" in out
    assert "register on a non-ring fd: -1 EOPNOTSUPP" in out


def test_probe_claims_exactly_what_is_implemented():
    """The probe is generated from the opcode table (opdef.OPS), and the
    sandbox must report exactly that table, nothing more."""
    out = check(run_sandbox("probe", "--all"))
    assert out == "supported: %s\n" % " ".join(map(str, sorted(OPS)))
