"""FUTEX_WAIT / FUTEX_WAKE / FUTEX_WAITV against Linux (tests/c/futex_ops.c):
io_futex_prep's checks, the word read at issue (-EAGAIN), bitsets, shared
versus private keys, cancellation (whose result is 1 for a futex), links;
and the two worlds meeting: futex(2) and futex_wake(2) wake SQEs, a
FUTEX_WAKE SQE wakes a thread blocked in futex(2)."""
from harness import same_as_native


def test_futex_ops_match_linux():
    out = same_as_native("futex_ops").splitlines()
    assert "wait with 8-bit size: [ud=1 res=-22]" in out
    assert "wait on a changed value: [ud=1 res=-11]" in out
    assert "wait unmapped: [ud=1 res=-14]" in out
    assert "wake with the bit: [ud=10 res=0] [ud=13 res=1]" in out
    assert "futex(FUTEX_WAKE) shared op: 0" in out
    assert "futex(FUTEX_WAKE_PRIVATE, 2): 2" in out
    assert "two woken: [ud=20 res=0] [ud=21 res=0]" in out
    assert "futex(FUTEX_WAKE_PRIVATE, 0): 1" in out
    assert "futex(FUTEX_WAKE_BITSET_PRIVATE, the bit): 1" in out
    assert "futex_wake(2): 1" in out
    assert "shared wait woken: [ud=27 res=0]" in out
    assert "FUTEX_WAKE SQE woke the futex(2) waiter: 1" in out
    assert "waitv woken: [ud=40 res=1]" in out
    assert "waitv woken by an SQE: [ud=41 res=2] [ud=42 res=1]" in out
    assert "cancel a futex wait: [ud=60 res=-125] [ud=61 res=1]" in out
    assert "futex wait with a link timeout: [ud=64 res=-125] [ud=65 res=1]" in out
    assert "failed wait breaks its link: [ud=68 res=-11] [ud=69 res=-125]" in out
