"""Registered ring fds against Linux (tests/c/ring_fds.c):
IORING_REGISTER_RING_FDS / UNREGISTER_RING_FDS and the calls that take a
slot number (IORING_ENTER_REGISTERED_RING, IORING_REGISTER_USE_REGISTERED_RING),
liburing's io_uring_register_ring_fd(); slots are the thread's own, keep the
ring alive after close, and are gone in new threads, forked children and
after execve."""
from harness import same_as_native


def test_registered_ring_fds_match_linux():
    out = same_as_native("ring_fds").splitlines()
    assert out[0] == "FEAT_REG_REG_RING: 1"
    assert "io_uring_register_ring_fd: 1" in out
    assert "cqes: [ud=1 res=0]" in out
    assert "offset -1: 1 offset=1" in out
    assert "slot 5 again: -1 EBUSY" in out
    assert "not a ring fd: -1 EOPNOTSUPP" in out
    assert "second of two fails: 1 offsets=3,4" in out
    assert "ring2 cqes: [ud=2 res=0]" in out
    assert "enter slot 7 (empty): -1 EBADF" in out
    assert "thread: enter index 0: -1 EINVAL" in out
    assert "thread: cqes: [ud=300 res=0]" in out
    assert "thread2: enter index 0: -1 EBADF" in out
    assert "ring2 cqes: [ud=3 res=0]" in out          # alive after its fd was closed
    assert "after exec: enter slot 5: -1 EINVAL" in out
    assert "unregister 5, 9, 3: 3" in out
    assert out[-1] == "cqes: [ud=4 res=0]"
