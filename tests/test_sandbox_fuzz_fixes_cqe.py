"""Lost completions found by the differential fuzzer (tools/fuzz): requests
Linux completes at once that the Sentry left waiting.  Each a section of
tests/c/fuzz_fixes_cqe.c run natively and sandboxed, with the C data plane
on and off."""
import pytest

from harness import same_as_native


# Each case with the C data plane on and forced off (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("dataplane_on_and_off")


def test_accept():
    # ACCEPT on a non-listening socket or a non-socket fails at once, never waits (sentry/iouring/socket_fd.py)
    assert same_as_native("fuzz_fixes_cqe", "accept").splitlines() == [
        "accept on a non-listener, nothing readable: submit=3 [1 -22 0] [2 -95 0] [3 -88 0]",
    ]


def test_splice():
    # SPLICE's offset checks (ESPIPE on a pipe, EINVAL without pread) come before any wait for the socket (sentry/iouring/splice.py)
    assert same_as_native("fuzz_fixes_cqe", "splice").splitlines() == [
        "splice from an empty socket into a pipe, at an offset: submit=3 [4 -22 0] [5 -29 0] [6 -29 0]",
    ]


def test_cqhead():
    # after the program moves the CQ head back, the CQ slots Linux took when it last read the head are still filled (sentry/iouring/ring.py, native/dataplane.c)
    assert same_as_native("fuzz_fixes_cqe", "cqhead").splitlines() == [
        "CQ head moved back: tail 3, slots [7 0] [8 0] [9 0], overflow flag 0",
    ]


def test_socketdirect():
    # a direct SOCKET's install error (ENXIO without a table) does not fail the request: the link goes on, CQE_SKIP_SUCCESS holds (sentry/iouring/socket_fd.py)
    assert same_as_native("fuzz_fixes_cqe", "socketdirect").splitlines() == [
        "direct socket without a file table, linked: submit=4 [10 -6 0] [11 0 0] [13 0 0]",
    ]
