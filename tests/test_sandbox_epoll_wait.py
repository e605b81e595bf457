"""EPOLL_WAIT against Linux (tests/c/epoll_wait_op.c): waiting while nothing
is ready, level- and edge-triggered items, maxevents, the argument checks,
cancellation and a link after it."""
from harness import same_as_native


def test_epoll_wait_op_matches_linux():
    out = same_as_native("epoll_wait_op").splitlines()
    assert out[0] == "waits with nothing ready: 1"
    assert "  events: {0x1 data=0x1122334455667788} {0x1 data=0xb0}" in out
    assert "again: level-triggered only: [ud=3 res=1 flags=0]" in out
    assert "maxevents 0: [ud=10 res=-22 flags=0]" in out
    assert "unwritable events: [ud=12 res=-14 flags=0]" in out
    assert "not an epoll fd: [ud=13 res=-22 flags=0]" in out
    assert "cancel: [ud=21 res=0 flags=0] [ud=20 res=-125 flags=0]" in out
    assert out[-1] == "linked nop after a wait: [ud=22 res=1 flags=0] [ud=23 res=0 flags=0]"
