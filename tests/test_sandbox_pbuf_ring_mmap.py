"""IOU_PBUF_RING_MMAP against Linux (tests/c/pbuf_ring_mmap.c): a buffer
ring the kernel (here the Sentry) allocates, mapped from the ring fd at
IORING_OFF_PBUF_RING | bgid << 16, filled by the program and selected by
reads; ENOMEM for a group without one, also after unregistration."""
from harness import same_as_native


def test_pbuf_ring_mmap_matches_linux():
    out = same_as_native("pbuf_ring_mmap").splitlines()
    assert "map a group without a ring: ENOMEM" in out
    assert "read 0: res=5 bid=7 data=first" in out
    assert "read 1: res=6 bid=9 data=second" in out
    assert "read 2: res=-105 bid=-1 data=" in out
    assert "  head=2" in out
    assert "map after unregister: ENOMEM" in out
    assert out[-1] == "map its 4 pages: ok"
