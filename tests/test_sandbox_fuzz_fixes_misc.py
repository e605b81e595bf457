"""Divergences the differential fuzzer (tools/fuzz) left open after the
30,000-seed triage: a drain behind a request that failed initialisation in
the same batch, and reads and writes on a ring's own fd.  Each a section of
tests/c/fuzz_fixes_misc.c run natively and sandboxed, with the C data plane
on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_drainflush():
    # a request that failed initialisation counts as allocated until its batch's flush: the POLL_ADD behind the drain waits for it, and the ring drains on (sentry/iouring/submit.py _flush)
    assert same_as_native("fuzz_fixes_misc", "drainflush").splitlines() == [
        "a drained NOP that fails initialisation, then POLL_ADD: submit=2 [1 -22 0]",
        "a NOP after them: submit=1",
        "the pipe written: submit=0 [2 1 0] [3 0 0]",
    ]


def test_drainflush2():
    # seed 10582's order: the READV after the poll waits for it
    assert same_as_native("fuzz_fixes_misc", "drainflush2").splitlines() == [
        "a drained NOP that fails initialisation: submit=1 [1 -22 0]",
        "a NOP that fails initialisation, then POLL_ADD: submit=2 [2 -22 0]",
        "a READV with an unknown RWF flag after them: submit=1",
        "the pipe written: submit=0 [3 1 0] [4 -95 0]",
    ]


def test_ringwrite():
    # a WRITE to the ring fd while its SQ is full waits for POLLOUT, which no CQE brings: only the cancel ends it; with room in the SQ it is EINVAL at once (sentry/iouring/rw.py _ring_rw)
    assert same_as_native("fuzz_fixes_misc", "ringwrite").splitlines() == [
        "WRITE to the ring fd with NOPs that fill the SQ: submit=4 [2 0 0] [3 0 0] [4 0 0]",
        "a NOP later: submit=1 [5 0 0]",
        "WRITEV to the ring fd, the SQ not full: submit=1 [6 -22 0]",
        "ASYNC_CANCEL of the WRITE: submit=1 [1 -125 0] [7 0 0]",
    ]


def test_ringread():
    # a READ from the ring fd with no CQE waiting waits for one, then is EINVAL (sentry/iouring/rw.py _ring_rw)
    assert same_as_native("fuzz_fixes_misc", "ringread").splitlines() == [
        "READ from the ring fd, no CQE waiting: submit=1",
        "a NOP: submit=1 [1 -22 0] [2 0 0]",
        "a NOP, then READ from the ring fd: submit=2 [3 0 0] [4 -22 0]",
    ]


def test_ringpollbatch():
    # a POLL_ADD on the ring fd does not see the CQEs of its own batch, which Linux posts when the batch ends; a linked one, issued after, does (sentry/iouring/ring.py poll_revents)
    assert same_as_native("fuzz_fixes_misc", "ringpollbatch").splitlines() == [
        "READ that fails, then POLL_ADD on the ring fd: submit=2 [1 -9 0] [2 4 0]",
        "NOP, and POLL_ADD linked after another NOP: submit=3 [3 0 0] [4 0 0] [5 5 0]",
        "NOP, then POLL_ADD for POLLIN on the ring fd: submit=2 [6 0 0] [7 1 0]",
        "NOP, then POLL_ADD for POLLIN | POLLOUT, by C first: submit=2 [8 0 0] [9 4 0]",
    ]


def test_openat2tail():
    # OPENAT2's open_how tail is checked before the struct is copied, up to its first non-zero byte: E2BIG before a fault, EFAULT at one (sentry/iouring/openclose.py prep_openat2)
    out = same_as_native("fuzz_fixes_misc", "openat2tail").splitlines()
    assert out[:2] == [
        "OPENAT2, a zero tail running into an unmapped page: submit=1 [1 -14 0]",
        "OPENAT2, a non-zero byte before the unmapped page: submit=1 [2 -7 0]",
    ]
    assert out[2].startswith("OPENAT2, a tail of zeros that ends before it: submit=1 [3 ") and len(out) == 3
    assert int(out[2].split("[3 ")[1].split()[0]) >= 0


def test_sigchld():
    # a signal the program ignores (SIGCHLD at its default) does not end an io_uring_enter wait, as Linux drops it when sent; a handled one does (sentry/iouring/enter.py _only_ignored_signals)
    assert same_as_native("fuzz_fixes_misc", "sigchld").splitlines() == [
        "wait while a child exits, SIGCHLD default: -62",
        "wait while a child exits, SIGCHLD handled: -4",
    ]


def test_multishot_poll_ready_when_armed():
    # a multishot POLL_ADD ready as it is armed posts its first event after the batch, as task work: on a full CQ the poll ends with a plain CQE; with room, one CQE per wake-up and none twice (sentry/iouring/poll.py _first_event)
    assert same_as_native("fuzz_fixes_misc", "mshotfull").splitlines() == [
        "two NOPs: submit=2",
        "two NOPs: submit=2",
        "multishot POLL_ADD for POLLOUT, the CQ full: submit=1 [1 0 0] [2 0 0] [3 0 0] [4 0 0] [5 4 0]",
        "multishot POLL_ADD for POLLIN, data waiting: submit=1 [6 1 0x2]",
        "more data: submit=0 [6 1 0x2]",
    ]


def test_wake_in_write():
    # with PYSENTRY_WAKE_IN_WRITE=1 a request the program's own write wakes has completed when write(2) returns, as in Linux (sentry/syscalls/file_io.py _serve)
    assert same_as_native("fuzz_fixes_misc", "wakeinwrite",
                          env={"PYSENTRY_WAKE_IN_WRITE": "1"}).splitlines() == [
        "READs completed when the write returned: 200 of 200",
    ]
