"""The ring fd under poll, epoll and fstat against Linux (tests/c/ring_poll.c):
POLLIN exactly while CQEs wait, even after the program reaped them in user
space; level- and edge-triggered epoll; a thread blocked in epoll_wait woken
by a completion; a forked child; an SQPOLL ring; not a regular file; reads
an SQPOLL ring's SQ thread completes (in C, with the data plane on) while the
program waits in edge-triggered epoll.  With the data plane on and off."""
import re

import pytest

from harness import check, run_native, run_sandbox

MODES = {"on": {"PYSENTRY_DATAPLANE": "1"}, "off": {"PYSENTRY_DATAPLANE": "0"}}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_ring_fd_readiness_matches_linux(mode):
    native = check(run_native("ring_poll"))
    proc = run_sandbox("ring_poll", options=["--stats"], env=MODES[mode])
    assert check(proc) == native
    # The SQPOLL ring's NOP and its ten reads from a registered file: the
    # SQ thread ran them in C, and the ring fd still became readable.
    m = re.search(r"data plane: \d+ SQEs in C \(enter \d+, SQ thread (\d+)\)", proc.stderr)
    assert m, proc.stderr
    if mode == "on":
        assert int(m.group(1)) >= 10
    else:
        assert int(m.group(1)) == 0
    assert native.splitlines() == [
        "epoll_ctl ADD ring fd: 0",
        "poll POLLIN, CQ empty (waits 100 ms): 0",
        "poll, CQ empty: 0x4",
        "epoll_wait, CQ empty: 0",
        "poll, one CQE: 0x5",
        "epoll_wait, one CQE: 1",
        "reaped in user space: 1",
        "poll after reaping: 0x4",
        "poll POLLIN after reaping (waits 100 ms): 0",
        "epoll_wait after reaping: 0",
        "ET: first batch: 1",
        "ET: nothing new: 0",
        "ET: second batch: 1",
        "reaped: 2",
        "thread: epoll_wait woken by a completion: 1",
        "reaped: 1",
        "child: poll, one CQE: 0x5",
        "reaped: 1",
        "fstat: regular file 0",
        "/proc/self/fd: anonymous inode 1",
        "SQPOLL: epoll_wait, CQ empty: 0",
        "SQPOLL: epoll_wait, one CQE: 1",
        "SQPOLL: epoll_wait for an OPENAT: 1",
        "SQPOLL: OPENAT gave an fd: 1",
        "SQPOLL reads: register file: 0",
        "SQPOLL reads, ET: read 1: 1",
        "SQPOLL reads, ET: nothing new: 0",
        "SQPOLL reads: read 1 gave its block: 1",
        "SQPOLL reads, ET: read 2: 1",
        "SQPOLL reads, ET: nothing new: 0",
        "SQPOLL reads: read 2 gave its block: 1",
        "SQPOLL reads, ET: 8 reads reaped after epoll_wait: 8, bad: 0",
    ]
