"""IORING_REGISTER_MEM_REGION with registered wait arguments against Linux
(tests/c/mem_region.c): the region checks for the program's memory and a
region allocated for it and mapped from the ring fd, then io_uring_enter with
EXT_ARG_REG reading its timeout, min_wait and flags at an offset of the
program's region; misaligned or out-of-region offsets are EFAULT."""
from harness import same_as_native


def test_mem_region_matches_linux():
    out = same_as_native("mem_region").splitlines()
    assert "read-only memory: -1 EFAULT" in out
    assert "register: 0" in out
    assert "register again: -1 EBUSY" in out
    assert "wait, slot 0 with 10ms: -1 ETIME" in out
    assert "wait, a CQE ready: 0" in out
    assert "wait for 0, offset 4: -1 EFAULT" in out
    assert "wait, past the end: -1 EFAULT" in out
    assert "MEM_REGION on an enabled ring: -1 EBUSY" in out
    assert "  desc after: size=8192 flags=0 mmap_offset=0x20000000" in out
    assert "wait on a slot of the kernel region: -1 ETIME" in out
    assert out[-1] == "wait on the last slot (read as slot 0): -1 ETIME"
