"""IORING_SETUP_IOPOLL against Linux: polled O_DIRECT I/O and the ops a polled ring refuses."""
import shutil
import tempfile

from harness import BUILD, same_as_native


def test_iopoll_ring_matches_linux():
    # O_DIRECT and ->iopoll depend on the filesystem: use the checkout's
    # disk (not /tmp, which may be tmpfs) for both runs.
    native = tempfile.mkdtemp(dir=BUILD)
    sandbox = tempfile.mkdtemp(dir=BUILD)
    try:
        out = same_as_native("iopoll", sandbox, native_args=[native])
    finally:
        shutil.rmtree(native)
        shutil.rmtree(sandbox)
    lines = out.splitlines()
    assert "nop: user_data=5 res=0" in lines
    assert "buffered read: user_data=3 res=-95" in lines     # no O_DIRECT: EOPNOTSUPP
    assert "pipe read: user_data=4 res=-95" in lines
    assert "poll add: user_data=6 res=-22" in lines          # not a pollable op: EINVAL
    assert "fsync: user_data=7 res=-22" in lines
    assert "timeout: user_data=8 res=-22" in lines


def test_hybrid_iopoll_ring_matches_linux():
    """IORING_SETUP_HYBRID_IOPOLL: the same results; only with IOPOLL."""
    native = tempfile.mkdtemp(dir=BUILD)
    sandbox = tempfile.mkdtemp(dir=BUILD)
    try:
        out = same_as_native("iopoll", sandbox, "hybrid", native_args=[native, "hybrid"])
    finally:
        shutil.rmtree(native)
        shutil.rmtree(sandbox)
    lines = out.splitlines()
    assert lines[0] == "hybrid without IOPOLL: -22"
    assert "nop: user_data=5 res=0" in lines
