"""Read/write divergences found by the differential fuzzer (tools/fuzz): RWF
flag checks, files without ->read_iter/->write_iter, and what Linux does with
a request it issues from an io-wq worker.  Each a section of
tests/c/fuzz_fixes_rw.c run natively and sandboxed, with the C data plane on
and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_eventfd():
    # an eventfd's ->write takes the RWF flags kiocb_set_rw_flags accepted; RWF_NOWAIT is -EAGAIN inline, ignored by a blocking io-wq issue (sentry/iouring/rw.py _loop_transfer)
    assert same_as_native("fuzz_fixes_rw", "eventfd").splitlines() == [
        "eventfd writes with RWF flags: submit=6 [1 8 0] [2 8 0] [3 -22 0] [4 -22 0] [5 -11 0] [6 -95 0]",
        "eventfd RWF_NOWAIT write, an open link's head: submit=1 [7 8 0]",
        "eventfd read 8: count 3",
    ]


def test_badmode():
    # the open mode's EBADF comes before the unknown RWF flag's EOPNOTSUPP (sentry/iouring/rw.py)
    assert same_as_native("fuzz_fixes_rw", "badmode").splitlines() == [
        "unknown RWF flag, file not open for the direction: submit=3 [8 -9 0] [9 -9 0] [10 -95 0]",
    ]


def test_regnowait():
    # an RWF_NOWAIT buffered write to an ext4 file is -EAGAIN inline, written by io-wq (IOSQE_ASYNC); the expected lines hold on ext4, the comparison with Linux everywhere
    out = same_as_native("fuzz_fixes_rw", "regnowait").splitlines()
    if out[0].startswith("RWF_NOWAIT writes to a regular file: submit=3 [11 -11 0]"):
        assert out == [
            "RWF_NOWAIT writes to a regular file: submit=3 [11 -11 0] [12 -11 0] [13 4 0]",
            "file: 8 bytes: 00 00 00 00 77 78 79 7a",
        ]


def test_ringfd():
    # an io_uring fd refuses RWF_NOWAIT (EOPNOTSUPP) before its read's EINVAL (vfs/file.py)
    assert same_as_native("fuzz_fixes_rw", "ringfd").splitlines() == [
        "read of an io_uring fd: submit=2 [14 -95 0] [15 -22 0]",
    ]


def test_splicering():
    # SPLICE: the pipe offset's ESPIPE comes before the ring fd's EINVAL (sentry/iouring/splice.py)
    assert same_as_native("fuzz_fixes_rw", "splicering").splitlines() == [
        "splice from a pipe into the ring fd: submit=2 [24 -29 0] [25 -22 0]",
    ]


def test_mshot():
    # READ_MULTISHOT: EBADFD on a file without ->poll, EINVAL for an ioprio (sentry/iouring/opdef.py, kbuf.py)
    assert same_as_native("fuzz_fixes_rw", "mshot").splitlines() == [
        "multishot read: a file without poll, ioprio: submit=3 [16 -77 0] [17 -77 0] [18 -22 0]",
    ]


def test_mshot_iowq():
    # a multishot read handed to io-wq (IOSQE_ASYNC, open link head, after a drain) waits for data before selecting its buffer (sentry/iouring/rw.py, submit.py)
    assert same_as_native("fuzz_fixes_rw", "mshotiowq").splitlines() == [
        "IOSQE_ASYNC, open link: before data:",
        "after data: submit=0 [19 -105 0] [20 -105 0]",
        "after a drain: before data: [21 0]",
        "after data: submit=0 [22 -105 0]",
    ]


def test_empty_nowait():
    # an empty RWF_NOWAIT write to a blocking eventfd is -EAGAIN (loop_rw_iter), but 0 when a link's previous request ran in io-wq, which issues it blocking (sentry/iouring/rw.py, submit.py _ran_in_worker)
    assert same_as_native("fuzz_fixes_rw", "emptynowait").splitlines() == [
        "empty eventfd writes: submit=4 [1 -11 0] [2 -11 0] [3 0 0] [4 0 0]",
        "the same after FGETXATTR in a hard link: submit=2 [5 -61 0] [6 0 0]",
    ]


def test_drain_in_link_forces_head_async():
    # IO_DRAIN inside a link forces the link's head async: a multishot READ there waits for data before it looks for a buffer (sentry/iouring/submit.py _init)
    assert same_as_native("fuzz_fixes_rw", "drainhead").splitlines() == [
        "multishot READ heading a link with a drained NOP: before data:",
        "after data: submit=0 [1 -105 0] [2 -125 0]",
    ]
