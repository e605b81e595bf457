"""IORING_REGISTER_CLONE_BUFFERS against Linux (tests/c/clone_buffers.c):
the argument checks, whole and partial clones with DST_REPLACE keeping the
slots outside the range, cloning from a registered ring index, sparse holes,
clones outliving the source's unregistration, and tags of replaced slots."""
from harness import same_as_native


def test_clone_buffers_match_linux():
    out = same_as_native("clone_buffers").splitlines()
    assert "clone from a ring without buffers: -1 ENXIO" in out
    assert "src_off + nr beyond: -1 EOVERFLOW" in out
    assert "dst: 0=buf0 1=buf0 2=buf1 3=buf2 4=EFAULT" in out
    assert "dst after the source unregistered: 0=buf0 1=buf0" in out
    assert "dst: 0=EFAULT 1=buf2 2=EFAULT" in out
    assert "  tag cqe ud=0x77 res=0" in out
    assert out[-1] == "  after unregister: tag cqe ud=0x88"
