"""IORING_OP_PIPE against Linux (tests/c/pipe_op.c)."""
from harness import same_as_native


def test_pipe_op_matches_linux():
    assert same_as_native("pipe_op").splitlines() == [
        "plain: 0 fds are the lowest free: 1 cloexec=0 nonblock=0",
        "  write 2, read 2: ab",
        "O_CLOEXEC|O_NONBLOCK: 0 cloexec=1 nonblock=1",
        "O_APPEND: -22",
        "fd set: -22",
        "off set: -22",
        "bad fds pointer: -14, no fd used: 1",
        "direct without a table: -23",
        "direct, allocated: 0 slots=0,1",
        "direct at slot 3: 0 slots=2,3",
        "direct O_CLOEXEC: -22",
        "direct past the table: -22",
        "direct, table full: -23",
        "fixed pipe io: res=2",
        "fixed pipe io: res=2",
        "read back: xy",
    ]
