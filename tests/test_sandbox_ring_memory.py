"""Ring memory the program supplies or resizes, against Linux
(tests/c/ring_memory.c): IORING_SETUP_NO_MMAP (Linux's checks of the two
ranges, I/O and an SQ thread through a ring in the program's own pages, its
bytes kept, the ring following the pages when they move, mmap of the ring fd
refused), IORING_SETUP_REGISTERED_FD_ONLY
(setup returns a registered ring index, used by enter and register; EBUSY
with all 16 slots taken) and IORING_REGISTER_RESIZE_RINGS (its errors, and
pending SQEs and CQEs carried to larger and smaller rings, mapped by the
kernel or in the program's memory) -- with the C data plane on and off."""
import pytest

from harness import same_as_native


@pytest.mark.parametrize("dataplane", ["1", "0"])
def test_ring_memory_matches_linux(dataplane):
    out = same_as_native("ring_memory", env={"PYSENTRY_DATAPLANE": dataplane}).splitlines()
    assert "REGISTERED_FD_ONLY without NO_MMAP: -1 EINVAL" in out
    assert "NO_MMAP, no addresses: -1 EFAULT" in out
    assert "NO_MMAP, rings misaligned: -1 EINVAL" in out
    assert "NO_MMAP, rings shorter than needed: -1 EFAULT" in out
    assert "NO_MMAP, read-only SQEs: -1 EFAULT" in out
    assert "NO_MMAP, rings at the top of the address space: -1 EOVERFLOW" in out
    assert "NO_MMAP markers: MARKER1 MARKER2" in out
    assert "NO_MMAP mmap of the ring fd: -1 ENOMEM" in out
    assert "NO_MMAP CQEs: 3 CQEs: 1=16 2=16 3=0" in out
    assert "NO_MMAP read back: user memory ring" in out
    assert "NO_MMAP|SQPOLL: 2 CQEs: 41=0 42=0" in out
    assert "move: 1 CQEs: 51=0" in out
    assert "REGISTERED_FD_ONLY setup (the index): 0" in out
    assert "REGISTERED_FD_ONLY: 1 CQEs: 7=0" in out
    assert "rings registered: 16" in out
    assert "setup with every slot taken: -1 EBUSY" in out
    assert "enter through the emptied slot: -1 EBADF" in out
    assert "resize a ring without DEFER_TASKRUN: -1 EINVAL" in out
    assert "resize from another thread: -1 EEXIST" in out
    assert "resize resize to 2/4: -1 EOVERFLOW" in out
    # The params written back by the failed resize carry NO_SQARRAY, which
    # the next call may not pass.
    assert "resize NO_SQARRAY resize to 4/4: -1 EINVAL" in out
    pending = ("29 CQEs: 200=0 201=0 202=0 203=0 204=0 205=0 300=0 301=0 302=0 "
               + " ".join("%d=0" % ud for ud in range(400, 420)))
    for tag in ("resize", "resize NO_SQARRAY", "resize NO_MMAP",
                "resize NO_MMAP REGISTERED_FD_ONLY"):
        assert "%s enter after resize: %s" % (tag, pending) in out
        assert "%s I/O after resize: 2 CQEs: 450=12 451=12" % tag in out
        assert "%s read back: resized ring" % tag in out
        assert ("%s enter after shrinking: 7 CQEs: 500=0 501=0 502=0 503=0 504=0 600=0 601=0"
                % tag) in out
    assert "resize old mapping cq tail: 12" in out
