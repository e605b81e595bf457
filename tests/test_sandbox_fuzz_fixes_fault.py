"""Transfers from a buffer running into unmapped memory, found by the
differential fuzzer (tools/fuzz): Linux moves what the file's write copied
before the fault, or for /dev/null reads nothing, and a stream read stops at
the fault keeping the rest; the Sentry hands the host call a mirror of the
buffer that faults at the same place
(mm/child_memory.py mirror()).  Each a section of tests/c/fuzz_fixes_fault.c
run natively and sandboxed, with the C data plane on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_devnull():
    # write_iter_null() never reads the buffer: the whole (capped) length
    assert same_as_native("fuzz_fixes_fault", "devnull").splitlines() == [
        "to /dev/null: submit=3 [1 1048576 0] [2 2147479552 0] [3 64 0]",
    ]


def test_pipe():
    # pipe_write() moves whole pages up to the one that faults
    assert same_as_native("fuzz_fixes_fault", "pipe").splitlines() == [
        "to a pipe: submit=1 [4 8192 0]",
        "  the pipe holds 8192 bytes, the buffer's",
        "to a pipe, a fault in the first page: submit=1 [5 -14 0]",
    ]


def test_file():
    # generic_perform_write() writes the prefix before the fault
    assert same_as_native("fuzz_fixes_fault", "file").splitlines() == [
        "to a file: submit=4 [6 8092 0] [7 0 0] [8 7892 0] [9 -14 0]",
        "  size 24276, the first write's bytes match",
    ]


def test_socket():
    # unix_stream_sendmsg() sends the skb-sized chunks copied before the fault
    assert same_as_native("fuzz_fixes_fault", "socket").splitlines() == [
        "send to a unix stream socket: submit=1 [10 36544 0]",
        "write to a unix stream socket: submit=1 [11 36544 0]",
        "send, a fault in the first chunk: submit=1 [12 -14 0]",
        "  the peer reads 73088 bytes, the buffer's",
    ]


def test_read():
    # a stream read stops at the fault and keeps the rest: pipe_read copies
    # whole pipe buffers (a 4 KiB one across the fault: EFAULT, nothing
    # taken), a unix socket whole skbs; an eventfd's count is taken even so
    assert same_as_native("fuzz_fixes_fault", "read").splitlines() == [
        "from a pipe: submit=1 [14 -14 0]",
        "  the pipe still holds 12288 bytes",
        "from a unix stream socket: submit=1 [15 2048 0]",
        "  the socket still holds 10240 bytes",
        "from an eventfd: submit=1 [16 -14 0]",
        "  the eventfd still holds 0",
    ]


def test_fileread():
    # a regular file's read copies up to the fault, inside an iovec too
    # (the C data plane declines it to Python)
    assert same_as_native("fuzz_fixes_fault", "fileread").splitlines() == [
        "from a file: submit=5 [17 3996 0] [18 0 0] [19 2096 0] [20 0 0] [21 -14 0]",
        "  the buffer holds the file's bytes: yes",
    ]


def test_midpage():
    # a buffer starting inside an unmapped page faults at its first byte
    assert same_as_native("fuzz_fixes_fault", "midpage").splitlines() == [
        "to a file from inside an unmapped page: submit=2 [22 -14 0] [23 -14 0]",
    ]


def test_eventfd():
    # an eventfd write copies its 8 bytes whole
    assert same_as_native("fuzz_fixes_fault", "eventfd").splitlines() == [
        "to an eventfd: submit=1 [13 -14 0]",
    ]


def test_file_position_after_a_fault():
    # a READ/WRITE at the file position of a regular file cut short by a fault posts the bytes moved and leaves the position where it was; one cut by the end of the file moves it (sentry/iouring/rw.py _cut_by_fault)
    assert same_as_native("fuzz_fixes_fault", "curpos").splitlines() == [
        "READ 100 into 4 mapped bytes at 0: submit=1 [30 4 0]",
        "  position 0",
        "READ 5000 into 1000 at 100: submit=1 [31 1000 0]",
        "  position 100",
        "READ 100 into 4, 4 bytes to the end at 8188: submit=1 [32 4 0]",
        "  position 8192",
        "WRITE 100 from 4 at 10: submit=1 [33 4 0]",
        "  position 10",
        "READ 100, nothing mapped at 20: submit=1 [34 -14 0]",
        "  position 20",
        "READV into 4 + 4 mapped of 68 at 0: submit=1 [40 8 0]",
        "  position 0",
    ]
