"""Unit tests for the io_uring core that need no child process: setup
validation, ring index arithmetic, SQE decoding, CQ overflow, links, probe."""
import errno

import pytest

from pysentry.sentry.iouring import abi, submit
from pysentry.sentry.iouring.ring import CQ_HEAD, CQES, SQ_FLAGS, SQ_TAIL, SQ_DROPPED, Ring
from pysentry.sentry.iouring.setup import ring_sizes


@pytest.mark.parametrize("entries,flags,cq,expect", [
    (1, 0, 0, (1, 2)),
    (3, 0, 0, (4, 8)),
    (4096, 0, 0, (4096, 8192)),
    (32768, 0, 0, (32768, 65536)),
    (40000, abi.SETUP_CLAMP, 0, (32768, 65536)),
    (4, abi.SETUP_CQSIZE, 100, (4, 128)),
    (4, abi.SETUP_CQSIZE, 4, (4, 4)),
    (4, abi.SETUP_CQSIZE | abi.SETUP_CLAMP, 1 << 20, (4, 65536)),
])
def test_ring_sizes_like_linux(entries, flags, cq, expect):
    assert ring_sizes(entries, flags, cq) == expect


@pytest.mark.parametrize("entries,flags,cq", [
    (0, 0, 0),                                   # zero entries
    (32769, 0, 0),                               # above IORING_MAX_ENTRIES without CLAMP
    (4, abi.SETUP_CQSIZE, 0),                    # CQSIZE with zero cq entries
    (8, abi.SETUP_CQSIZE, 4),                    # cq smaller than sq
    (4, abi.SETUP_CQSIZE, 65537),                # cq above the max without CLAMP
    (4, 1 << 31, 0),                             # unknown flag
    (4, 1 << 17, 0),                             # HYBRID_IOPOLL: not implemented yet
    (4, abi.SETUP_TASKRUN_FLAG, 0),              # TASKRUN_FLAG needs COOP/DEFER_TASKRUN
])
def test_ring_sizes_rejects_with_einval(entries, flags, cq):
    with pytest.raises(OSError) as e:
        ring_sizes(entries, flags, cq)
    assert e.value.errno == errno.EINVAL


class FakeKernel:
    def __init__(self):
        self.poller = None
        self.injector = None

    def lookup_file(self, task, fd):
        raise OSError(errno.EBADF, "no files in unit tests")


class FakeTracer:
    def __init__(self):
        self.woken = []
        self.timers = []

    def wake(self, task):
        self.woken.append(task)

    def call_at(self, when, callback):
        self.timers.append(callback)
        return _FakeTimer()


class _FakeTimer:
    def cancel(self):
        pass


def _ring(sq=4, cq=8, flags=0):
    r = Ring(sq, cq, flags, compat=False)
    r.tracer = FakeTracer()
    return r


def _push(ring, *sqes):
    """Write SQEs the way a program does: fill slot, array entry, bump tail."""
    tail = ring.u32[SQ_TAIL // 4]
    for fields in sqes:
        slot = tail & ring.sq_mask
        abi.SQE.pack_into(ring.mem, ring.sqes_off + slot * abi.SQE_SIZE, *fields)
        if not ring.no_sqarray:
            ring.u32[ring.sq_array // 4 + slot] = slot
        tail = (tail + 1) & 0xFFFFFFFF
    ring.u32[SQ_TAIL // 4] = tail


def _sqe(opcode=abi.OP_NOP, flags=0, user_data=0, fd=-1, op_flags=0, length=0):
    return (opcode, flags, 0, fd, 0, 0, length, op_flags, user_data, 0, 0, 0, 0, 0)


def _cqes(ring):
    head = ring.u32[CQ_HEAD // 4]
    out = []
    while head != ring.cq_tail:
        out.append(abi.CQE.unpack_from(ring.mem, CQES + (head & ring.cq_mask) * 16)[:2])
        head = (head + 1) & 0xFFFFFFFF
    ring.u32[CQ_HEAD // 4] = head
    return out


def test_nops_complete_in_order():
    ring = _ring()
    _push(ring, *(_sqe(user_data=i) for i in (1, 2, 3)))
    assert submit.submit(FakeKernel(), ring, None, 3) == 3
    assert _cqes(ring) == [(1, 0), (2, 0), (3, 0)]


def test_to_submit_is_capped_by_what_is_queued():
    ring = _ring()
    _push(ring, _sqe(user_data=5))
    assert submit.submit(FakeKernel(), ring, None, 100) == 1
    assert _cqes(ring) == [(5, 0)]


def test_garbage_tail_is_capped_at_sq_entries():
    ring = _ring(sq=4)
    ring.u32[SQ_TAIL // 4] = 0xFFFFFFF0          # garbage written by the program
    assert submit.submit(FakeKernel(), ring, None, 1000) == 4


def test_out_of_range_sq_index_is_dropped_and_counted():
    ring = _ring()
    _push(ring, _sqe(user_data=1))
    ring.u32[ring.sq_array // 4] = 999
    assert submit.submit(FakeKernel(), ring, None, 1) == 0
    assert ring.u32[SQ_DROPPED // 4] == 1
    assert _cqes(ring) == []


def test_unknown_opcode_and_flag_fail_with_einval():
    ring = _ring()
    _push(ring, _sqe(opcode=200, user_data=1))
    assert submit.submit(FakeKernel(), ring, None, 1) == 1
    _push(ring, _sqe(flags=1 << 7, user_data=2))
    assert submit.submit(FakeKernel(), ring, None, 1) == 1
    assert _cqes(ring) == [(1, -errno.EINVAL), (2, -errno.EINVAL)]


def test_failed_init_stops_the_batch_unless_submit_all():
    ring = _ring(sq=4)
    _push(ring, _sqe(user_data=1), _sqe(opcode=200, user_data=2), _sqe(user_data=3))
    assert submit.submit(FakeKernel(), ring, None, 3) == 2
    assert _cqes(ring) == [(1, 0), (2, -errno.EINVAL)]
    ring2 = _ring(sq=4, flags=abi.SETUP_SUBMIT_ALL)
    _push(ring2, _sqe(user_data=1), _sqe(opcode=200, user_data=2), _sqe(user_data=3))
    assert submit.submit(FakeKernel(), ring2, None, 3) == 3
    assert _cqes(ring2) == [(1, 0), (2, -errno.EINVAL), (3, 0)]


def test_nop_inject_result_and_unknown_nop_flags():
    ring = _ring()
    _push(ring, _sqe(op_flags=abi.NOP_INJECT_RESULT, length=(-5) & 0xFFFFFFFF, user_data=1),
          _sqe(op_flags=1 << 20, user_data=2))
    submit.submit(FakeKernel(), ring, None, 2)
    assert _cqes(ring) == [(1, -5), (2, -errno.EINVAL)]


def test_soft_link_failure_cancels_the_rest_hardlink_does_not():
    ring = _ring(sq=8, cq=16)
    fail = _sqe(op_flags=abi.NOP_INJECT_RESULT, length=(-errno.EIO) & 0xFFFFFFFF,
                flags=abi.IOSQE_IO_LINK, user_data=1)
    _push(ring, fail, _sqe(flags=abi.IOSQE_IO_LINK, user_data=2), _sqe(user_data=3))
    assert submit.submit(FakeKernel(), ring, None, 3) == 3
    assert _cqes(ring) == [(1, -errno.EIO), (2, -errno.ECANCELED), (3, -errno.ECANCELED)]
    hard = _sqe(op_flags=abi.NOP_INJECT_RESULT, length=(-errno.EIO) & 0xFFFFFFFF,
                flags=abi.IOSQE_IO_HARDLINK, user_data=4)
    _push(ring, hard, _sqe(user_data=5))
    submit.submit(FakeKernel(), ring, None, 2)
    assert _cqes(ring) == [(4, -errno.EIO), (5, 0)]


def test_cqe_skip_success_only_skips_successes():
    ring = _ring()
    _push(ring, _sqe(flags=abi.IOSQE_CQE_SKIP_SUCCESS, user_data=1),
          _sqe(flags=abi.IOSQE_CQE_SKIP_SUCCESS, op_flags=abi.NOP_INJECT_RESULT,
               length=(-1) & 0xFFFFFFFF, user_data=2))
    submit.submit(FakeKernel(), ring, None, 2)
    assert _cqes(ring) == [(2, -1)]


def test_fixed_file_without_registered_files_is_ebadf():  # noqa: D103
    ring = _ring()
    _push(ring, _sqe(opcode=abi.OP_FSYNC, flags=abi.IOSQE_FIXED_FILE, fd=0, user_data=1))
    submit.submit(FakeKernel(), ring, None, 1)
    assert _cqes(ring) == [(1, -errno.EBADF)]


def test_buffer_select_on_an_op_without_it_is_eopnotsupp():
    # Linux 6.18 (checked natively with WRITE and NOP): io_init_req -> EOPNOTSUPP.
    ring = _ring()
    _push(ring, _sqe(opcode=abi.OP_WRITE, flags=abi.IOSQE_BUFFER_SELECT, fd=1, user_data=1))
    submit.submit(FakeKernel(), ring, None, 1)
    assert _cqes(ring) == [(1, -errno.EOPNOTSUPP)]


def test_cq_overflow_keeps_every_completion_in_order():
    ring = _ring(sq=4, cq=8)
    for batch in range(8):
        _push(ring, *(_sqe(user_data=batch * 4 + i) for i in range(4)))
        submit.submit(FakeKernel(), ring, None, 4)
    assert ring.u32[SQ_FLAGS // 4] & abi.SQ_CQ_OVERFLOW
    assert ring.events_available() == 32
    got = []
    while len(got) < 32:
        got += [ud for ud, _ in _cqes(ring)]
        ring.flush_overflow()
    assert got == list(range(32))
    assert not ring.u32[SQ_FLAGS // 4] & abi.SQ_CQ_OVERFLOW


def test_garbage_cq_head_does_not_overwrite_unreaped_cqes():
    ring = _ring(sq=4, cq=4)
    ring.u32[CQ_HEAD // 4] = 12345               # nonsense head: treat the CQ as full
    _push(ring, _sqe(user_data=1))
    submit.submit(FakeKernel(), ring, None, 1)
    assert ring.cq_tail == 0 and len(ring.overflow) == 1


def test_drain_waits_for_earlier_requests():
    ring = _ring()
    _push(ring, _sqe(user_data=1), _sqe(flags=abi.IOSQE_IO_DRAIN, user_data=2), _sqe(user_data=3))
    submit.submit(FakeKernel(), ring, None, 3)
    assert _cqes(ring) == [(1, 0), (2, 0), (3, 0)]
    assert ring.live == 0 and not ring.deferred


def test_waiters_are_woken_once_enough_cqes_exist():
    from pysentry.sentry.iouring.enter import Waiter
    ring = _ring()
    w = Waiter(task="T", min_complete=2, timeouts=ring.cq_timeouts)
    ring.waiters.append(w)
    _push(ring, _sqe(user_data=1))
    submit.submit(FakeKernel(), ring, None, 1)
    assert ring.tracer.woken == []
    _push(ring, _sqe(user_data=2))
    submit.submit(FakeKernel(), ring, None, 1)
    assert ring.tracer.woken == ["T"]


def test_mmap_offsets_map_to_our_layout():
    ring = _ring()
    assert ring.mmap_file_offset(abi.OFF_SQ_RING, ring.rings_size) == 0
    assert ring.mmap_file_offset(abi.OFF_CQ_RING, 4096) == 0
    assert ring.mmap_file_offset(abi.OFF_SQES, 4 * 64) == ring.sqes_off
    assert ring.mmap_file_offset(abi.OFF_SQES, ring.sqes_size + 1) is None
    assert ring.mmap_file_offset(4096, 4096) is None



# -- entry sizes (ringlayout.py): the same CQ logic in C and in Python ---------

@pytest.mark.parametrize("entries,flags,cq,expect", [
    (8, abi.SETUP_SQE128, 0, (8, 16)),
    (8, abi.SETUP_CQE32, 0, (8, 16)),
    (1, abi.SETUP_CQE_MIXED, 0, (1, 2)),
    (32768, abi.SETUP_CQE32 | abi.SETUP_CQSIZE, 65536, (32768, 65536)),
])
def test_entry_size_flags_accepted(entries, flags, cq, expect):
    assert ring_sizes(entries, flags, cq) == expect


@pytest.mark.parametrize("entries,flags,cq,err", [
    (8, abi.SETUP_CQE32 | abi.SETUP_CQE_MIXED, 0, errno.EINVAL),
    (8, 1 << 19, 0, errno.EINVAL),                       # SQE_MIXED: 6.19
    (1, abi.SETUP_CQE_MIXED | abi.SETUP_CQSIZE, 1, errno.EOVERFLOW),
])
def test_entry_size_flags_refused_as_linux(entries, flags, cq, err):
    with pytest.raises(OSError) as e:
        ring_sizes(entries, flags, cq)
    assert e.value.errno == err


@pytest.fixture(params=["c", "python"])
def cq_impl(request, monkeypatch):
    """Run a test with the C ring block and with the pure-Python path."""
    from pysentry import native
    if request.param == "python":
        monkeypatch.setattr(native, "lib", None)
    elif native.lib is None:
        pytest.skip("no C extension")
    return request.param


def _slots(ring, size):
    """Every CQ slot from the head as (user_data, res, flags[, big]), consumed."""
    head = ring.u32[CQ_HEAD // 4]
    out = []
    while head != ring.cq_tail:
        off = CQES + (head & ring.cq_mask) * size
        ud, res, flags = abi.CQE.unpack_from(ring.mem, off)
        big = flags & abi.CQE_F_32 or size == 32
        out.append((ud, res, flags) + (abi.CQE32_EXTRA.unpack_from(ring.mem, off + 16)
                                       if big else ()))
        head = (head + (2 if flags & abi.CQE_F_32 else 1)) & 0xFFFFFFFF
    ring.u32[CQ_HEAD // 4] = head
    return out


def test_cqe32_ring_writes_big_fields_and_overflows_them(cq_impl):
    ring = _ring(sq=2, cq=2, flags=abi.SETUP_CQE32)
    ring.mem[CQES:CQES + 64] = b"\xaa" * 64
    ring.post(1, 0)
    ring.post(2, 5, big=(7, 8))
    ring.post(3, 0, big=(9, 10))            # no room: the backlog keeps big_cqe[]
    assert ring.overflow and ring.u32[SQ_FLAGS // 4] & abi.SQ_CQ_OVERFLOW
    assert _slots(ring, 32) == [(1, 0, 0, 0, 0), (2, 5, 0, 7, 8)]
    ring.flush_overflow()
    assert _slots(ring, 32) == [(3, 0, 0, 9, 10)]
    assert not ring.overflow


def test_mixed_ring_pads_a_32_byte_cqe_that_would_wrap(cq_impl):
    ring = _ring(sq=2, cq=4, flags=abi.SETUP_CQE_MIXED)
    for ud in (1, 2, 3):
        ring.post(ud, 0)
    assert _slots(ring, 16) == [(1, 0, 0), (2, 0, 0), (3, 0, 0)]
    ring.post(4, 0, big=(5, 6))             # slot 3 is the last one: padding first
    assert _slots(ring, 16) == [(0, 0, abi.CQE_F_SKIP), (4, 0, abi.CQE_F_32, 5, 6)]
    # Two queued with the tail on the last slot: padding, then no room.
    for ud in (7, 8, 9):
        ring.post(ud, 0)
    assert len(_slots(ring, 16)) == 3
    ring.post(10, 0)
    ring.post(11, 0)
    ring.post(12, 0, big=(13, 14))
    assert ring.overflow
    assert _slots(ring, 16) == [(10, 0, 0), (11, 0, 0), (0, 0, abi.CQE_F_SKIP)]
    ring.flush_overflow()
    assert _slots(ring, 16) == [(12, 0, abi.CQE_F_32, 13, 14)]


def test_sqe128_ring_reads_128_byte_slots(cq_impl):
    ring = _ring(sq=4, cq=8, flags=abi.SETUP_SQE128)
    assert ring.sqes_size >= 4 * 128
    for slot, ud in ((3, 30), (1, 10)):
        ring.mem[ring.sqes_off + slot * 128:ring.sqes_off + (slot + 1) * 128] = b"\x5c" * 128
        abi.SQE.pack_into(ring.mem, ring.sqes_off + slot * 128, *_sqe(user_data=ud))
    ring.u32[ring.sq_array // 4] = 3
    ring.u32[ring.sq_array // 4 + 1] = 1
    ring.u32[SQ_TAIL // 4] = 2
    assert submit.submit(FakeKernel(), ring, None, 2) == 2
    assert _cqes(ring) == [(30, 0), (10, 0)]


def test_deferred_32_byte_cqe_keeps_its_fields(cq_impl):
    # DEFER_TASKRUN: a CQE held until the submitter enters is posted later
    # with its big_cqe[] and, on a mixed ring, IORING_CQE_F_32.
    flags = abi.SETUP_CQE_MIXED | abi.SETUP_SINGLE_ISSUER | abi.SETUP_DEFER_TASKRUN
    ring = _ring(sq=2, cq=4, flags=flags)
    ring.post(1, 3, big=(4, 5))
    assert _slots(ring, 16) == []
    ring.run_local_work()
    assert _slots(ring, 16) == [(1, 3, abi.CQE_F_32, 4, 5)]
