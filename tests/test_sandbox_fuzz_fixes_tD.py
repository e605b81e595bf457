"""Divergences the differential fuzzer (tools/fuzz) found in the network ops
and in what requests leave in files and memory.  Each a section of
tests/c/fuzz_fixes_tD.c run natively and sandboxed, with the C data plane on
and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_zcdrain():
    # a SEND_ZC on the defer list never leaves it, nor what queues behind it: its notification is allocated and on no list (sentry/iouring/submit.py _drain_req)
    assert same_as_native("fuzz_fixes_tD", "zcdrain").splitlines() == [
        "SEND_ZC with IO_DRAIN, then a NOP: submit=2",
    ]


def test_faileddrain():
    # an IO_DRAIN request that fails initialisation still drains the ring: the next request waits for every request in flight (sentry/iouring/submit.py _init)
    assert same_as_native("fuzz_fixes_tD", "faileddrain").splitlines() == [
        "POLL_ADD, then a drained NOP that fails initialisation: submit=2 [2 -22 0]",
        "a NOP after it: submit=1",
        "the pipe written: submit=0 [1 1 0] [3 0 0]",
    ]


def test_zcdrainlater():
    # the drain that failed in one submission puts the next submission's SEND_ZC on the defer list for good
    assert same_as_native("fuzz_fixes_tD", "zcdrainlater").splitlines() == [
        "a drained NOP that fails initialisation: submit=1 [1 -22 0]",
        "SEND_ZC and a NOP after it: submit=2",
    ]


def test_zcflags():
    # an unknown SEND_ZC flag fails prep before REPORT_USAGE is taken: the notification reports 0 (sentry/iouring/net.py prep_send_zc)
    assert same_as_native("fuzz_fixes_tD", "zcflags").splitlines() == [
        "SEND_ZC with REPORT_USAGE and an unknown flag: submit=1 [1 -22 0x2] [1 0 0x8]",
    ]


def test_pollfirst():
    # RECVSEND_POLL_FIRST is -EAGAIN with MSG_DONTWAIT and in a link left open at the end of a submission, unless IOSQE_ASYNC (sentry/iouring/net.py _wait_first)
    assert same_as_native("fuzz_fixes_tD", "pollfirst").splitlines() == [
        "SEND with POLL_FIRST, with and without MSG_DONTWAIT: submit=2 [1 -11 0] [2 8 0]",
        "RECV with POLL_FIRST and MSG_DONTWAIT, data waiting: submit=1 [3 -11 0]",
        "NOP and SEND with POLL_FIRST, the link left open: submit=2 [4 0 0] [5 -11 0]",
        "SEND with POLL_FIRST and IOSQE_ASYNC, the link left open: submit=1 [6 8 0]",
        "left to read: 16",
    ]


def test_writefault():
    # a write whose buffer faults at its first byte is made on the host from a buffer that faults too: EFAULT, and ext4 moves the size up to the offset; /dev/null takes it (mm/native/copyio.c)
    # (on ext4; what the size becomes is the file system's, and the Sentry's
    # host call leaves it to the same file system: only equality is checked)
    out = same_as_native("fuzz_fixes_tD", "writefault").splitlines()
    assert out[0] == "WRITE from a page that faults: submit=3 [1 -14 0] [2 -14 0] [3 256 0]"
    assert out[1].startswith("size after: ") and len(out) == 2


def test_readfault():
    # a pipe read into a buffer that faults part-way fails with EFAULT but leaves the bytes copied before the fault (vfs/file.py read)
    assert same_as_native("fuzz_fixes_tD", "readfault").splitlines() == [
        "READ from a pipe into a buffer that faults after 4 bytes: submit=1 [1 -14 0]",
        "the 4 bytes: 0123",
        "left in the pipe: 10 0123456789",
    ]
