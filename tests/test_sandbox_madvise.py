"""IORING_OP_MADVISE against Linux: the advice applies to the child's memory."""
from harness import same_as_native


def test_madvise_matches_linux():
    lines = same_as_native("madvise").splitlines()
    assert "dontneed: user_data=5 res=0" in lines
    assert "after dontneed: first page 0, second page a" in lines
    assert "bad advice: user_data=5 res=-22" in lines
    assert "unaligned: user_data=5 res=-22" in lines
