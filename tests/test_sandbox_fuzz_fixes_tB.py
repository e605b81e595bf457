"""Links, drain, cancel and timeout differences found by the differential
fuzzer (tools/fuzz), area tB.  Each a section of tests/c/fuzz_fixes_tB.c run
natively and sandboxed, with the C data plane on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_drain_inside_a_link():
    # IOSQE_IO_DRAIN on a link member drains the link's head and the chain after the link (sentry/iouring/submit.py _init)
    assert same_as_native("fuzz_fixes_tB", "drainlink").splitlines() == [
        "read waiting, then a link with a drain inside, then a nop: submit=4",
        "after the eventfd write: submit=0 [1 8 0] [2 0 0] [3 0 0] [4 0 0]",
    ]


def test_drain_stays_active():
    # after a drain, a new request waits for everything in flight until one finds nothing (ctx->drain_active, submit.py _queue_chain)
    assert same_as_native("fuzz_fixes_tB", "drainsticky").splitlines() == [
        "a drained nop, then a read: submit=2 [5 0 0]",
        "a nop submitted after them: submit=1",
        "after the eventfd write: submit=0 [6 8 0] [7 0 0]",
        "a nop once nothing is in flight: submit=1 [8 0 0]",
        "and another: submit=1 [9 0 0]",
    ]


def test_drain_of_a_request_that_fails_init():
    # a drain flag stays in force when its request then fails initialisation: a later file read (a data-plane SQE) waits (submit.py _init)
    assert same_as_native("fuzz_fixes_tB", "drainfail").splitlines() == [
        "read waiting, a drain failing init: submit=2 [32 -22 0]",
        "a file read: submit=1",
        "after the eventfd write: submit=0 [31 8 0] [33 4 0]",
    ]


def test_drain_never_releases_a_zero_copy_send():
    # a deferred SEND_ZC's notification counts as in flight in Linux 6.18's drain: nothing deferred runs again (submit.py drain_stuck)
    assert same_as_native("fuzz_fixes_tB", "drainzc").splitlines() == [
        "a drained nop, a zero-copy send, a nop: submit=3 [21 0 0]",
        "a nop later: submit=1",
    ]
