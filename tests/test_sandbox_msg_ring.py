"""IORING_OP_MSG_RING between two rings, against Linux."""
from harness import same_as_native


def test_msg_ring_data_and_file_passing_match_linux():
    lines = same_as_native("msg_ring").splitlines()
    assert "data: target user_data=4660 res=42 flags=0" in lines
    assert "flags pass: target user_data=99 res=-5 flags=196608" in lines
    assert "target not a ring: source res=-77" in lines          # EBADFD
    assert "send fd without target table: source res=-6" in lines  # ENXIO
    assert "send fd alloc: target user_data=56 res=3 flags=0" in lines
    assert "send fd to itself: source res=-22" in lines
    assert "target read: user_data=9 res=7 'through'" in lines
    assert not [ln for ln in lines if ln.startswith("send fd skip cqe: target")]
