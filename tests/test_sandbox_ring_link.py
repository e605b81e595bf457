"""What /proc/<pid>/fd shows for a ring fd, against Linux (tests/c/ring_link.c):
anon_inode:[io_uring] however the entry is reached (self, thread-self, a pid,
a task, a directory fd, the cwd, a dup, a forked child), readlink's truncation
to a short buffer, and the program's own eventfd keeping its name."""
from harness import same_as_native

RING = '21 "anon_inode:[io_uring]"'


def test_ring_fd_link_matches_linux():
    assert same_as_native("ring_link").splitlines() == [
        "self: " + RING,
        'self, 15 bytes: 15 "anon_inode:[io_"',
        'self, 20 bytes: 20 "anon_inode:[io_uring"',
        'self, 5 bytes: 5 "anon_"',
        "thread-self: " + RING,
        "pid: " + RING,
        "pid/task/tid: " + RING,
        "self/fd/../fd: " + RING,
        'the program\'s eventfd: 20 "anon_inode:[eventfd]"',
        "readlinkat(dirfd): " + RING,
        'readlinkat(dirfd), eventfd: 20 "anon_inode:[eventfd]"',
        "relative to the cwd: " + RING,
        "dup: " + RING,
        "child, the parent's fd: " + RING,
        "child, its inherited fd: " + RING,
        "after close: No such file or directory",
    ]
