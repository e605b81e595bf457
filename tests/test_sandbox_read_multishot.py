"""IORING_OP_READ_MULTISHOT against Linux (tests/c/read_multishot.c)."""
from harness import same_as_native


def test_read_multishot_matches_linux():
    lines = same_as_native("read_multishot").splitlines()
    assert lines[1:6] == [
        "without buffer select: user_data=1 res=-22 more=0",
        "with addr: user_data=2 res=-22 more=0",
        "with len: user_data=3 res=-22 more=0",
        "regular file: user_data=4 res=-77 more=0",
        "unknown group: user_data=5 res=-105 more=0",
    ]
    assert "cancel the waiting one: user_data=8 res=-125 more=0" in lines
    assert lines[lines.index("one write: user_data=6 res=5 more=1 bid=0 data=hello"):][:4] == [
        "one write: user_data=6 res=5 more=1 bid=0 data=hello",
        "a write larger than a buffer: user_data=6 res=16 more=1 bid=1 data=0123456789abcdef",
        "a write larger than a buffer: user_data=6 res=3 more=1 bid=2 data=XYZ",
        "end of file: user_data=6 res=0 more=0",
    ]
    assert lines[-2:] == [
        "buffers run out: user_data=7 res=16 more=1 bid=0 data=0123456789abcdef",
        "buffers run out: user_data=7 res=-105 more=0",
    ]
