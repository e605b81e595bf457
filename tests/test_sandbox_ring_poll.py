"""The ring fd under poll, epoll and fstat against Linux (tests/c/ring_poll.c):
POLLIN exactly while CQEs wait, even after the program reaped them in user
space; level- and edge-triggered epoll; a thread blocked in epoll_wait woken
by a completion; a forked child; an SQPOLL ring; not a regular file."""
from harness import same_as_native


def test_ring_fd_readiness_matches_linux():
    assert same_as_native("ring_poll").splitlines() == [
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
    ]
