"""Errno divergences from Linux found by the differential fuzzer
(tools/fuzz), each a section of tests/c/fuzz_fixes_errno.c run natively and
sandboxed, with the C data plane on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_fxattr_fixed_file():
    # FGETXATTR/FSETXATTR take a fixed file, looked up after the prep's name
    # import; only the path variants refuse one (sentry/iouring/xattr.py).
    # Fuzzer seed 191.
    assert same_as_native("fuzz_fixes_errno", "fxattr").splitlines() == [
        "FGETXATTR, fixed file, empty name: submit=1 [1 -34 0]",
        "FSETXATTR, fixed file, empty name: submit=1 [2 -34 0]",
        "FGETXATTR, fixed file, no table: submit=1 [3 -9 0]",
        "GETXATTR, fixed file, empty name: submit=1 [4 -9 0]",
    ]


def test_fixed_fd_install_order():
    # reserved fields (EINVAL) before the need for a fixed file (EBADF)
    # (sentry/iouring/openclose.py).  Fuzzer seed 306.
    assert same_as_native("fuzz_fixes_errno", "fdinstall").splitlines() == [
        "FIXED_FD_INSTALL, plain fd, addr set: submit=1 [10 -22 0]",
        "FIXED_FD_INSTALL, plain fd: submit=1 [11 -9 0]",
    ]


def test_lone_iovec_capped_before_access_ok():
    # a single iovec's length is capped at MAX_RW_COUNT before access_ok
    # (import_ubuf), so the open mode decides (mm/iov.py).  Fuzzer seed 1622.
    assert same_as_native("fuzz_fixes_errno", "oneiov").splitlines() == [
        "a huge lone iovec on a pipe end not open for it: submit=2 [20 -9 0] [21 -9 0]",
        "two iovecs, one huge: submit=1 [22 -14 0]",
    ]


def test_eventfd_empty_read():
    # an empty READ/READV of an eventfd is EINVAL (eventfd_read), an empty
    # WRITE 0 (sentry/iouring/rw.py).  Fuzzer seeds 1625, 1962.
    assert same_as_native("fuzz_fixes_errno", "eventfd0").splitlines() == [
        "empty transfers on an eventfd: submit=5 [30 -22 0] [31 0 0] [32 -22 0] [33 0 0] [34 -22 0]",
    ]


def test_iopoll_checks_open_mode_first():
    # on an IOPOLL ring the open mode (EBADF) and RWF flags come before the
    # polled-I/O support check (EOPNOTSUPP) (sentry/iouring/rw.py).  Fuzzer
    # seeds 2331, 2790.
    assert same_as_native("fuzz_fixes_errno", "iopoll").splitlines() == [
        "IOPOLL ring, pipe ends: submit=3 [40 -9 0] [41 -9 0] [42 -95 0]",
    ]


def test_errors_that_do_not_fail_the_link():
    # the xattr ops and a SOCKET's direct install post their error without
    # req_set_fail: no link broken, CQE_SKIP_SUCCESS hides it; a bad fd still
    # fails (sentry/iouring/xattr.py, socket_fd.py).  Fuzzer seeds 537, 2015.
    assert same_as_native("fuzz_fixes_errno", "unfailed").splitlines() == [
        "failing xattr ops, linked: submit=8 [50 -95 0] [51 0 0] [53 0 0] [54 -2 0] [55 0 0]"
        " [56 -9 0] [57 -125 0]",
        "SOCKET into a slot, no table, linked: submit=2 [58 -6 0] [59 0 0]",
    ]


def test_send_zc_length_is_unsigned():
    # SEND_ZC's length is not refused at prep as SEND's (>= 2 GiB: EINVAL,
    # ending the batch) is: it fails at issue, so io_uring_enter counts on
    # (sentry/iouring/net.py _import_ubuf).  Fuzzer seed 140.
    assert same_as_native("fuzz_fixes_errno", "sendzc").splitlines() == [
        "SEND_ZC and SEND of 4 GiB - 1 to a file: submit=4 [60 -88 0x2] [60 0 0x8]"
        " [61 -88 0x2] [61 0 0x8] [62 0 0] [63 -22 0]",
    ]
