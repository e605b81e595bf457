"""Read/write attributes (FEAT_RW_ATTR) against Linux (tests/c/rw_attr.c):
the PI attribute's checks at prep, then the refusal of files without
integrity metadata at issue, after the file and fixed-buffer lookups."""
from harness import same_as_native


def test_rw_attr_matches_linux():
    out = same_as_native("rw_attr").splitlines()
    assert out[0] == "FEAT_RW_ATTR: 1"
    assert "read, buffered file: -22 EINVAL" in out
    assert "attr_ptr unreadable: -14 EFAULT" in out
    assert "attr_ptr without a mask: 4096" in out
    assert "bad fd: -9 EBADF" in out
    assert out[-1] == "pipe data left: 2"
