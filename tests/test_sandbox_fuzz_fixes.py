"""Divergences from Linux found by the differential fuzzer (tools/fuzz),
each a section of tests/c/fuzz_fixes.c run natively and sandboxed, with the
C data plane on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_iovec():
    # an iovec outside the user address space is EFAULT at import, before any I/O (mm/iov.py)
    assert same_as_native("fuzz_fixes", "iovec").splitlines() == [
        "iovec outside user space: submit=1 [1 -14 0]",
        "an empty iovec outside user space: submit=1 [2 -14 0]",
        "  file unchanged: 4 0123",
    ]


def test_regbuf():
    # registering a zero-length buffer is EFAULT; the wrap check is on the page-aligned length (mm/registered_buffers.py)
    assert same_as_native("fuzz_fixes", "regbuf").splitlines() == [
        "register a zero-length buffer: -14",
        "register a buffer whose page wraps: -75",
    ]


def test_rwinit():
    # a READ/WRITE on a socket at an offset is ESPIPE, RWF_HIPRI without IOPOLL is EINVAL (sentry/iouring/rw.py)
    assert same_as_native("fuzz_fixes", "rwinit").splitlines() == [
        "read/write a socket at an offset: submit=2 [3 -29 0] [4 -29 0]",
        "RWF_HIPRI without IOPOLL: submit=1 [5 -22 0]",
    ]


def test_splice():
    # SPLICE checks the open modes (EBADF) before a pipe's offset (ESPIPE) (sentry/iouring/splice.py)
    assert same_as_native("fuzz_fixes", "splice").splitlines() == [
        "splice into a read-only file, pipe offset set: submit=1 [6 -9 0]",
        "splice or tee without pipes: submit=4 [50 -22 0] [51 -22 0] [52 -22 0] [53 -22 0]",
    ]


def test_links():
    # an SQE failing initialisation inside a link does not end the batch; a CQE_SKIP_SUCCESS head silences its failed links (sentry/iouring/submit.py)
    assert same_as_native("fuzz_fixes", "links").splitlines() == [
        "bad SQE in the middle of a link: submit=4 [7 -125 0] [8 -22 0] [9 -125 0] [10 0 0]",
        "bad SQE ending a link: submit=2 [11 -125 0] [12 -22 0]",
        "the SQE left: submit=1 [13 0 0]",
        "bad SQE linked to a CQE_SKIP_SUCCESS head: submit=3 [14 -125 0]",
    ]


def test_sendzc():
    # a zero-copy send posts its notification CQE whatever becomes of it (sentry/iouring/net.py)
    assert same_as_native("fuzz_fixes", "sendzc").splitlines() == [
        "SEND_ZC with unknown flags: submit=1 [20 -22 0x2] [20 0 0x8]",
        "SEND_ZC on a unix socket, REPORT_USAGE: submit=1 [21 -95 0x2] [21 -2147483648 0x8]",
        "SEND_ZC on fd -1: submit=1 [22 -9 0x2] [22 -2147483648 0x8]",
        "SEND_ZC cancelled as a link: submit=2 [23 0 0] [24 -125 0] [24 0 0x8]",
        "SEND_ZC on TCP loopback, REPORT_USAGE: submit=1 [25 8 0x2] [25 -2147483648 0x8]",
        "SEND_ZC on TCP loopback: submit=1 [26 8 0x2] [26 0 0x8]",
        "received: 16",
    ]



def test_open_mode_checked_first():
    # a READ/WRITE on a file not open for it is EBADF (io_rw_init_file) though it moves 0
    # bytes (no host call) or its buffer is unmapped (EFAULT otherwise) (sentry/iouring/rw.py)
    assert same_as_native("fuzz_fixes", "emptyrw").splitlines() == [
        "empty transfers: submit=5 [30 -9 0] [31 -9 0] [32 -9 0] [33 -9 0] [34 0 0]",
        "unmapped buffers: submit=3 [35 -9 0] [36 -9 0] [37 -14 0]",
        "a kernel buffer: submit=1 [38 -14 0]",
    ]


def test_drain_refused_after_skip_success():
    # once a ring has seen CQE_SKIP_SUCCESS, IO_DRAIN is EOPNOTSUPP (io_init_req)
    assert same_as_native("fuzz_fixes", "drain").splitlines() == [
        "drain on a fresh ring: submit=1 [40 0 0]",
        "drain after a CQE_SKIP_SUCCESS: submit=2 [42 -95 0]",
        "drain and CQE_SKIP_SUCCESS together: submit=1 [43 -95 0]",
    ]


def test_poll_add_checks():
    # a poll on a regular file (no wait queue) that is not satisfied at once is EINVAL;
    # POLL_ADD takes no flag but MULTI (sentry/iouring/poll.py)
    assert same_as_native("fuzz_fixes", "pollfile").splitlines() == [
        "poll a regular file: submit=4 [60 -22 0] [61 1 0] [63 4 0] [64 -22 0]",
        "POLL_ADD_LEVEL: submit=1 [65 -22 0]",
        "after it: submit=1 [67 0 0]",
        "multishot with CQE_SKIP_SUCCESS: submit=1 [66 -22 0]",
    ]


def test_unknown_rw_flags():
    # unknown RWF flags are EOPNOTSUPP on a file that cannot be read without waiting too;
    # the Sentry took that for a file without RWF_NOWAIT and waited (sentry/iouring/rw.py)
    assert same_as_native("fuzz_fixes", "rwflags").splitlines() == [
        "unknown RWF flags: submit=2 [70 -95 0] [71 -95 0]",
    ]


def test_sqpoll_refuses_taskrun_flags():
    # Linux 6.18 refuses COOP_TASKRUN and TASKRUN_FLAG with SQPOLL (sentry/iouring/setup.py)
    assert same_as_native("fuzz_fixes", "setup").splitlines() == [
        "setup SQPOLL|0x100: -22",
        "setup 0x100: 0",
        "setup SQPOLL|0x300: -22",
        "setup 0x300: 0",
    ]

def test_register_args():
    # io_uring_register(2)'s per-opcode checks of arg and nr_args come first, as in
    # __io_uring_register (sentry/iouring/register.py); each row is an opcode on a fresh
    # ring with arg NULL, unmapped, zeroed memory x nr_args 0, 1, 2, 2**31
    assert same_as_native("fuzz_fixes", "regargs").splitlines() == [
        "register 0: -14 -14 -14 -14 -22 -14 -14 -22 -22 0 0 -22",
        "register 1: -6 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 2: -14 -14 -14 -14 -22 -14 -14 -24 -22 0 0 -24",
        "register 3: -6 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 4: -22 -14 -22 -22 -22 -14 -22 -22 -22 -22 -22 -22",
        "register 5: -6 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 6: -22 -14 -14 -14 -22 -14 -14 -14 -22 -6 -6 -6",
        "register 7: -22 -14 -22 -22 -22 -14 -22 -22 -22 -22 -22 -22",
        "register 8: -22 -22 -22 -22 -14 -14 -14 -22 0 0 0 -22",
        "register 9: 1 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 10: -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 11: -22 -22 -22 -22 0 -14 -14 -22 0 0 0 -22",
        "register 12: 0 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 13: -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 14: -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 15: -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 16: -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22 -22",
        "register 22: -22 -22 -22 -22 -22 -14 -22 -22 -22 -22 -22 -22",
        "register 23: -22 -22 -22 -22 -22 -14 -22 -22 -22 -2 -22 -22",
        "register 24: -22 -22 -22 -22 -22 -14 -22 -22 -22 -2 -22 -22",
        "register 25: -22 -22 -22 -22 -14 -22 -22 -22 0 -22 -22 -22",
        "register 26: -22 -22 -22 -22 -22 -14 -22 -22 -22 -2 -22 -22",
    ]


def test_nop_file_with_fixed_file_flag():
    # NOP with IORING_NOP_FILE and IOSQE_FIXED_FILE looks in the fixed table (sentry/iouring/nop.py)
    assert same_as_native("fuzz_fixes", "nopfile").splitlines() == [
        "NOP_FILE, IOSQE_FIXED_FILE, no fixed files: submit=1 [40 -9 0]",
        "NOP_FILE, IOSQE_FIXED_FILE: empty slot, filled slot, plain fd: submit=3"
        " [41 -9 0] [42 0 0] [43 0 0]",
    ]


def test_directory_read_with_rwf_flags():
    # READ of a directory: EISDIR for the flags any file takes, EOPNOTSUPP for the rest (sentry/iouring/rw.py)
    assert same_as_native("fuzz_fixes", "dirflags").splitlines() == [
        "READ of a directory with RWF flags: submit=9 [50 -21 0] [51 -21 0] [52 -21 0]"
        " [53 -21 0] [54 -21 0] [55 -95 0] [56 -95 0] [57 -95 0] [58 -95 0]",
    ]
