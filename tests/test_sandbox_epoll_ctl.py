"""IORING_OP_EPOLL_CTL against Linux: the change is the child's own interest list."""
from harness import same_as_native


def test_epoll_ctl_matches_linux():
    lines = same_as_native("epoll_ctl").splitlines()
    assert "add: user_data=77 res=0" in lines
    assert "wait after write: 1 events=1 data=abcdef" in lines    # the event copied at submit
    assert "add again: user_data=77 res=-17" in lines
    assert "epoll_ctl(2) del after io_uring add: 0" in lines
    assert "del again: user_data=77 res=-2" in lines
    assert "bad event pointer: user_data=77 res=-14" in lines
