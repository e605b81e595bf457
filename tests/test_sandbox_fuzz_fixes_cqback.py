"""The differential fuzzer's CQ-head-back class (tools/fuzz `scribble 2`):
which CQ slots Linux 6.18 fills after a program moves its CQ head
backwards.  Each a section of tests/c/fuzz_fixes_cqback.c run natively and
sandboxed, with the C data plane on and off."""
import pytest

from harness import check, run_native, run_sandbox, same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_runout():
    # the run of slots cached at the last refill is filled whatever the head says; the refill after it sees the head moved back and overflows (native/dataplane.c cq_take)
    assert same_as_native("fuzz_fixes_cqback", "runout").splitlines() == [
        "head back by 64, 8 NOPs: tail 8, tail-head 72, slots 1/0 2/0 10/0 11/0 12/0 13/0 20/0 21/0, overflow 1",
        "caught up: enter=0",
        "  then: tail 10, tail-head 2, slots 22/0 23/0 10/0 11/0 12/0 13/0 20/0 21/0, overflow 0",
    ]


def test_smallback():
    # a head moved back by less than the free space: the refill gives the slots tail - head leaves
    assert same_as_native("fuzz_fixes_cqback", "smallback").splitlines() == [
        "8 NOPs, 5 read, head back by 2, 4 NOPs: tail 11, tail-head 8, slots 10/0 11/0 12/0 4/0 5/0 6/0 7/0 8/0, overflow 1",
        "caught up: enter=0",
        "  then: tail 12, tail-head 1, slots 10/0 11/0 12/0 13/0 5/0 6/0 7/0 8/0, overflow 0",
    ]


def test_arrayend():
    # the run ends at the end of the CQ array; the refill at slot 0 reads the head again
    assert same_as_native("fuzz_fixes_cqback", "arrayend").splitlines() == [
        "6 NOPs read, head back by 2^31, 4 NOPs: tail 8, tail-head -2147483646, slots 1/0 2/0 3/0 4/0 5/0 6/0 10/0 11/0, overflow 1",
        "caught up: enter=0",
        "  then: tail 10, tail-head 2, slots 12/0 13/0 3/0 4/0 5/0 6/0 10/0 11/0, overflow 0",
        "6 NOPs read, 4 NOPs: tail 10, tail-head 4, slots 12/0 13/0 3/0 4/0 5/0 6/0 10/0 11/0, overflow 0",
    ]


def test_stalerun():
    # a one-slot run taken when the CQ was nearly full is used before the head is read again
    assert same_as_native("fuzz_fixes_cqback", "stalerun").splitlines() == [
        "7 NOPs read, 3 NOPs: tail 10, tail-head 3, slots 11/0 12/0 3/0 4/0 5/0 6/0 7/0 10/0, overflow 0",
    ]


def test_multishot():
    # a multishot CQE takes a slot of the cached run like any CQE (io_req_post_cqe -> io_get_cqe); the poll ends only when the refill finds no room (sentry/iouring/ring.py post_more, cq_full)
    assert same_as_native("fuzz_fixes_cqback", "multishot").splitlines() == [
        "multishot poll, head back by 64, 8 writes: tail 8, tail-head 72, slots 1/0 2/1 2/1 2/1 2/1 2/1 2/1 2/1, overflow 1",
        "  flags of slots 1..7: 0x2 0x2 0x2 0x2 0x2 0x2 0x2",
        "caught up: enter=0",
        "  then: tail 9, tail-head 1, slots 2/1 2/1 2/1 2/1 2/1 2/1 2/1 2/1, overflow 0",
        "  the last CQE, flushed from the overflow list: flags 0",
    ]


def test_zcnotif():
    # a zero-copy send's notification is task work: after the batch's CQEs, and after its link's task work when the send failed before sending (sentry/iouring/submit.py Notif, net.py cleanup_zc)
    assert same_as_native("fuzz_fixes_cqback", "zcnotif").splitlines() == [
        "SEND_ZC on a pipe, NOP, SEND_ZC linked to a NOP, NOP: submit=5",
        "  1 -88 0x2",
        "  2 0 0",
        "  3 -88 0x2",
        "  5 0 0",
        "  1 0 0x8",
        "  4 -125 0",
        "  3 0 0x8",
    ]


def test_asyncorder():
    # an IOSQE_ASYNC request's CQE follows those its batch completes inline: Linux runs it in an io-wq worker (sentry/iouring/submit.py _queue_chain; the C data plane leaves it to Python).  That is a race in Linux, which the worker sometimes wins (a CI run saw "1 2" in 2 of 3 rounds): Linux must give the Sentry's order in some of 50 rounds, and the Sentry gives it every time.
    native = check(run_native("fuzz_fixes_cqback", "asyncorder", "50")).splitlines()
    assert set(native) <= {"NOP with IOSQE_ASYNC, NOP: 2 1", "NOP with IOSQE_ASYNC, NOP: 1 2"}
    assert "NOP with IOSQE_ASYNC, NOP: 2 1" in native
    assert check(run_sandbox("fuzz_fixes_cqback", "asyncorder")).splitlines() == [
        "NOP with IOSQE_ASYNC, NOP: 2 1",
    ] * 3


def test_forceasync():
    # an op whose prep forces io-wq (SPLICE here) posts after the batch's inline CQEs, like IOSQE_ASYNC (sentry/iouring/submit.py _forced_async)
    assert same_as_native("fuzz_fixes_cqback", "forceasync").splitlines() == [
        "SPLICE (ESPIPE), NOP: 2/0 1/-29",
    ] * 3
