"""io_uring_enter flags of 6.x against Linux (tests/c/enter_flags.c):
NO_IOWAIT, ABS_TIMER, min_wait_usec (FEAT_MIN_TIMEOUT), linked requests whose
file an earlier member opens (FEAT_LINKED_FILE) and an unknown flag."""
from harness import same_as_native


def test_enter_flags_match_linux():
    out = same_as_native("enter_flags").splitlines()
    assert "FEAT_MIN_TIMEOUT: 1" in out
    assert "NO_IOWAIT wait for 1: 0 cqes=1" in out
    assert "ABS_TIMER in the past: -1 ETIME" in out
    assert "ABS_TIMER 20ms ahead: -1 ETIME" in out
    assert "min_wait, no timeout, 1 of 4 ready: 0 cqes=1" in out
    assert "min_wait, long timeout, completions later: 0 cqes=2" in out
    assert "openat direct then linked read: [ud=1 res=0] [ud=2 res=7] data=linked!" in out
    assert out[-1] == "unknown enter flag 1<<8: -1 EINVAL"
