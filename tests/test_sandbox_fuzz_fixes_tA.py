"""Divergences the differential fuzzer (tools/fuzz) found in timing, the CQ
ring, polls and io_uring_enter (triage area tA).  Each a section of
tests/c/fuzz_fixes_tA.c run natively and sandboxed, with the C data plane on
and off; the output must be Linux's."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_readvfault():
    # a stream READV whose iovecs reach unmapped memory: EFAULT at the first iovec, else the bytes land in the right iovec (mm/iov.py gather_mirrored, vfs/file.py _first_bytes)
    stream = [
        "readv, first iovec unmapped: submit=1 [%d -14 0]",
        "readv, empty, 8 bytes, unmapped: submit=1 [%d 8 0]",
        "  empty iovec's buffer: \"........\"",
        "  second iovec: \"01234567\"",
        "  after the unmapped one: \"........\"",
    ]
    want = []
    for kind, base in (("socket", 0), ("pipe", 10)):
        want += [("%s: " % kind) + stream[0] % (base + 1), ("%s: " % kind) + stream[1] % (base + 2)]
        want += stream[2:]
    assert same_as_native("fuzz_fixes_tA", "readvfault").splitlines() == want


def test_linkorder():
    # a link goes on by task work after the batch: later SQEs of the batch first, one link step per pass (sentry/iouring/submit.py _run_task_work)
    assert same_as_native("fuzz_fixes_tA", "linkorder").splitlines() == [
        "links: submit=10",
        "  CQ ring order: [1 -9] [4 -125] [7 0] [10 0] [2 -125] [3 -125] [5 -22] [6 -125] [8 0] [9 0]",
        "writes: submit=6, CQEs [11 0] [12 4] [13 4] [14 0] [15 1] [16 1]",
        "  file \"AAAA\", pipe \"21\"",
    ]


def test_sqpollstart():
    # a new SQ thread with nothing queued sleeps at once; an enter without SQ_WAKEUP then submits nothing (sentry/iouring/native/sqpoll.c, enter.py)
    assert same_as_native("fuzz_fixes_tA", "sqpollstart").splitlines() == [
        "sqpoll: NEED_WAKEUP 1 after 20 ms; enter without SQ_WAKEUP = 1, CQEs 0; "
        "with it = 1, CQE [21 0]",
    ]


def test_pollring():
    # POLL_ADD on a ring fd: POLLOUT unless tail - head is exactly sq_entries (the head before the batch); a wake-up reports POLLIN and ends a multishot poll (sentry/iouring/ring.py poll_revents, poll.py)
    assert same_as_native("fuzz_fixes_tA", "pollring").splitlines() == [
        "pollring: full SQ: enter=4, CQEs: [31 0] [32 0] [33 0] [30 1]",
        "  over-filled SQ: enter=4, CQEs: [44 0] [41 4] [42 0] [43 0]",
        "  multishot IN on a ring fd: armed:",
        "    after a NOP there: [50 1 0]",
        "    (its CQEs): [60 0 0]",
        "    after a NOP there:",
        "    (its CQEs): [61 0 0]",
        "  multishot IN|OUT on a ring fd: armed: [51 4 0x2]",
        "    after a NOP there: [51 1 0]",
        "    (its CQEs): [60 0 0]",
        "    after a NOP there:",
        "    (its CQEs): [61 0 0]",
    ]


def test_pollnull():
    # POLL_ADD on a file with no ->poll (/dev/null): no wait queue, so EINVAL or what is ready at once -- not an io_uring_enter failing with EPERM (sentry/iouring/poll.py _no_wait_queue)
    assert same_as_native("fuzz_fixes_tA", "pollnull").splitlines() == [
        "poll on /dev/null: submit=4 [70 -22 0] [71 1 0] [72 4 0] [73 0 0]",
    ]


def test_polloneshot():
    # EPOLLONESHOT in a multishot POLL_ADD's events makes it one-shot: one CQE without F_MORE (sentry/iouring/poll.py PollCmd)
    assert same_as_native("fuzz_fixes_tA", "polloneshot").splitlines() == [
        "multishot poll with EPOLLONESHOT: submit=2 [80 1 0] [81 1 0x2]",
        "remove both: submit=2 [81 -125 0] [82 -2 0] [83 0 0]",
    ]
