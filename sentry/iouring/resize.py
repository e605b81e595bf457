"""IORING_REGISTER_RESIZE_RINGS: new SQ and CQ sizes for a live ring
(Linux's io_uring/register.c io_register_resize_rings), checked by
tests/c/ring_memory.c against the host.

As in Linux 6.18:

  * only a DEFER_TASKRUN ring may be resized (EINVAL otherwise, so never
    one with an SQ thread), and only by its submitter (EEXIST);
  * the new params may carry only IORING_SETUP_CQSIZE and CLAMP (EINVAL);
    NO_SQARRAY and NO_MMAP are inherited from the ring; sizes are checked as
    at setup (setup.ring_sizes);
  * the params are written back -- the sizes, the inherited flags, the
    offsets (sq_off.array as the caller passed it; user_addr kept only with
    NO_MMAP) -- after the new rings' memory is checked and before the SQE
    array's, so a later failure leaves them written;
  * the SQEs between the SQ head and tail and the CQEs between the CQ head
    and tail (the shared words) move to the same positions modulo the new
    sizes, with the heads, tails, dropped count and flags; more of either
    than the new ring holds is EOVERFLOW and nothing changes.  The SQ array
    is not carried over (the program refills it);
  * a ring the Sentry allocated is mapped again by the program at the
    usual offsets; its old mappings keep the old memory, which the ring no
    longer uses.  With NO_MMAP the new ranges of the program's memory become
    the ring (ringmem.py).

The swap (Ring.swap_memory) re-points the C data plane under its ring lock.
Nothing else writes the ring meanwhile: a DEFER_TASKRUN ring posts
completions only while its single submitter is in io_uring_enter -- not
now, it is here -- and has no SQ thread.
"""
import errno
import struct

from pysentry.mm.shm import SharedRegion
from pysentry.sentry.iouring import abi, ringmem
from pysentry.sentry.iouring import ring as ringmod
from pysentry.sentry.iouring.setup import ring_sizes

_U32 = 0xFFFFFFFF
RESIZE_FLAGS = abi.SETUP_CQSIZE | abi.SETUP_CLAMP
# Properties a resized ring always keeps (Linux's COPY_FLAGS; the entry
# size flags are among them, should the ring have them).
COPY_FLAGS = abi.SETUP_NO_SQARRAY | abi.SETUP_NO_MMAP
for _name in ("SETUP_SQE128", "SETUP_CQE32", "SETUP_CQE_MIXED", "SETUP_SQE_MIXED"):
    COPY_FLAGS |= getattr(abi, _name, 0)


def resize_rings(kernel, task, ring, arg, nr_args):
    """The register handler: 0 or a generator (NO_MMAP: the program's new
    ranges are mapped by injection) giving 0 or -errno."""
    if ring.flags & abi.SETUP_SINGLE_ISSUER and ring.enabled \
            and ring.submitter_tid != task.tid:
        # __io_uring_register(): a SINGLE_ISSUER ring's submitter only.
        raise OSError(errno.EEXIST, "not the ring's submitter")
    if not arg or nr_args != 1:
        raise OSError(errno.EINVAL, "bad arguments")
    if not ring.defer_taskrun:
        raise OSError(errno.EINVAL, "only DEFER_TASKRUN rings")
    raw = bytearray(task.mem.read(arg, abi.PARAMS_SIZE))
    head = list(abi.PARAMS_HEAD.unpack_from(raw, 0))
    sq_req, cq_req, flags = head[:3]
    if flags & ~RESIZE_FLAGS:
        raise OSError(errno.EINVAL, "flags other than CQSIZE and CLAMP")
    flags |= ring.flags & COPY_FLAGS
    sq, cq = ring_sizes(sq_req, flags, cq_req)
    sq_array, rings_size, sqes_size = ringmod.layout(sq, cq, flags)
    sq_off = list(abi.SQ_OFFSETS.unpack_from(raw, abi.PARAMS_HEAD.size))
    cq_off = list(abi.CQ_OFFSETS.unpack_from(raw, abi.PARAMS_HEAD.size + abi.SQ_OFFSETS.size))
    no_mmap = bool(flags & abi.SETUP_NO_MMAP)
    if no_mmap:
        ringmem.check_region(task, cq_off[-1], rings_size)
        # Linux writes the masks and entry counts into the new rings (the
        # program's pages) before anything else can fail.
        _write_sizes_user(task, cq_off[-1], sq, cq)
    # io_uring_fill_params(): every offset but the SQ array's, which stays
    # as the caller gave it; user_addr survives only with NO_MMAP.
    array = sq_off[6]
    sq_off = list(ring.sq_offsets())
    sq_off[6] = array
    cq_off_out = list(ring.cq_offsets())
    if no_mmap:
        sq_off[-1] = abi.SQ_OFFSETS.unpack_from(raw, abi.PARAMS_HEAD.size)[-1]
        cq_off_out[-1] = cq_off[-1]
    head[:3] = sq, cq, flags
    task.mem.write(arg, abi.PARAMS_HEAD.pack(*head) + abi.SQ_OFFSETS.pack(*sq_off)
                   + abi.CQ_OFFSETS.pack(*cq_off_out))
    if no_mmap:
        ringmem.check_region(task, sq_off[-1], sqes_size)
    _check_fits(ring, sq, cq)
    region = SharedRegion(rings_size + sqes_size)
    if not no_mmap:
        _carry_over(ring, region, sq, cq, sq_array, rings_size)
        ring.swap_memory(region, sq, cq).close()
        return 0
    rings_addr, sqes_addr = cq_off_out[-1], sq_off[-1]
    try:
        region.map[0:rings_size] = task.mem.read(rings_addr, rings_size)
        region.map[rings_size:rings_size + sqes_size] = task.mem.read(sqes_addr, sqes_size)
    except OSError:
        region.close()
        raise
    return _resize_user(kernel, task, ring, region, sq, cq, sq_array, rings_size, sqes_size,
                        rings_addr, sqes_addr)


def _resize_user(kernel, task, ring, region, sq, cq, sq_array, rings_size, sqes_size,
                 rings_addr, sqes_addr):
    """Generator: the new ranges become the ring's memory, then the swap."""
    res = yield from ringmem.share(kernel, task, region, rings_addr, rings_size, rings_size,
                                   sqes_addr, sqes_size)
    if res < 0:
        region.close()
        return res
    if ring.closed:
        region.close()
        return -errno.EBADF
    try:
        _check_fits(ring, sq, cq)
    except OSError as e:
        region.close()
        return -e.errno
    _carry_over(ring, region, sq, cq, sq_array, rings_size)
    ring.swap_memory(region, sq, cq).close()
    ring.user_mem = (rings_addr, sqes_addr)
    return 0


def _write_sizes_user(task, addr, sq, cq):
    task.mem.write(addr + ringmod.SQ_MASK, struct.pack("<4I", sq - 1, cq - 1, sq, cq))


def _check_fits(ring, sq, cq):
    """What is pending must fit the new rings (Linux compares the shared
    tail and head words, whatever the program wrote there)."""
    u32 = ring.u32
    if (u32[ringmod.SQ_TAIL // 4] - u32[ringmod.SQ_HEAD // 4]) & _U32 > sq:
        raise OSError(errno.EOVERFLOW, "pending SQEs do not fit")
    if (u32[ringmod.CQ_TAIL // 4] - u32[ringmod.CQ_HEAD // 4]) & _U32 > cq:
        raise OSError(errno.EOVERFLOW, "pending CQEs do not fit")


def _carry_over(ring, region, sq, cq, sq_array, rings_size):
    """Write the new rings: sizes, then the pending SQEs and CQEs at their
    positions modulo the new sizes, the indices, dropped count and flags."""
    old, new = ring.mem, region.map
    old32 = ring.u32
    new32 = memoryview(new).cast("I")
    try:
        for off, value in ((ringmod.SQ_MASK, sq - 1), (ringmod.SQ_ENTRIES, sq),
                           (ringmod.CQ_MASK, cq - 1), (ringmod.CQ_ENTRIES, cq)):
            new32[off // 4] = value
        # Entry sizes do not change in a resize (SQE128/CQE32 are kept);
        # a mixed CQ is copied slot by slot, as its head and tail count.
        sqe = ring.layout.sqe_size
        tail, head = old32[ringmod.SQ_TAIL // 4], old32[ringmod.SQ_HEAD // 4]
        i = head
        while i != tail:
            src = ring.sqes_off + (i & ring.sq_mask) * sqe
            dst = rings_size + (i & (sq - 1)) * sqe
            new[dst:dst + sqe] = old[src:src + sqe]
            i = (i + 1) & _U32
        new32[ringmod.SQ_HEAD // 4], new32[ringmod.SQ_TAIL // 4] = head, tail
        cqe = ring.layout.cqe_size
        tail, head = old32[ringmod.CQ_TAIL // 4], old32[ringmod.CQ_HEAD // 4]
        i = head
        while i != tail:
            src = ringmod.CQES + (i & ring.cq_mask) * cqe
            dst = ringmod.CQES + (i & (cq - 1)) * cqe
            new[dst:dst + cqe] = old[src:src + cqe]
            i = (i + 1) & _U32
        new32[ringmod.CQ_HEAD // 4], new32[ringmod.CQ_TAIL // 4] = head, tail
        for off in (ringmod.SQ_DROPPED, ringmod.SQ_FLAGS, ringmod.CQ_FLAGS, ringmod.CQ_OVERFLOW):
            new32[off // 4] = old32[off // 4]
    finally:
        new32.release()
