"""Divergences the differential fuzzer (tools/fuzz) found in RECV and RECVMSG.
Each a section of tests/c/fuzz_fixes_recv.c run natively and sandboxed, with
the C data plane on and off."""
import pytest

from harness import same_as_native


@pytest.fixture(autouse=True, params=["dataplane-on", "dataplane-off"])
def _dataplane(request, monkeypatch):
    """Each section with the C data plane on (the default) and forced off
    (run_sandbox passes os.environ on)."""
    monkeypatch.setenv("PYSENTRY_DATAPLANE", "1" if request.param == "dataplane-on" else "0")


def test_mshotlen():
    # a multishot RECV's sqe->len caps each receive into a provided buffer; an empty group is -ENOBUFS (sentry/iouring/net.py prep_recv)
    assert same_as_native("fuzz_fixes_recv", "mshotlen").splitlines() == [
        'multishot RECV with len 4, 10 bytes queued: submit=1 [1 4 0x7] [1 4 0x10007] [1 2 0x20003]',
        'the peer shut down: submit=0 [1 0 0]',
        'buffers: 0123........ 4567........ 89..........',
        'multishot RECV with len 61 and an empty group: submit=1 [2 -105 0]',
    ]


def test_mshotiowq():
    # a multishot RECV given to io-wq (IOSQE_ASYNC, a drain) fails with -EBADFD on a file that cannot be polled and waits for data on a pipe or socket (seed 3713; sentry/iouring/net.py issue_recv)
    assert same_as_native("fuzz_fixes_recv", "mshotiowq").splitlines() == [
        'multishot RECV on a file: submit=1 [1 -88 0]',
        '  with IOSQE_ASYNC: submit=1 [2 -77 0]',
        'multishot RECV on a pipe: submit=1 [3 -88 0]',
        'multishot RECV with IOSQE_ASYNC on an empty socket: submit=1',
        '3 bytes sent: submit=0 [4 3 0x3]',
        'cancelled: submit=1 [4 -125 0] [5 0 0]',
        'multishot RECV with IOSQE_ASYNC on an empty pipe: submit=1',
        '3 bytes written: submit=0 [6 -88 0]',
        'multishot RECV with len 151 and IOSQE_IO_DRAIN on a file: submit=1 [7 -77 0]',
    ]


def test_mshottotal():
    # sqe->optlen of a multishot RECV limits what it receives in all: the receive reaching it is the last CQE; optlen anywhere else is -EINVAL (seeds 3713 5555 23691; sentry/iouring/net.py prep_recv, _recv_selected)
    assert same_as_native("fuzz_fixes_recv", "mshottotal").splitlines() == [
        'multishot RECV with optlen 10, nothing queued: submit=1',
        '6 bytes sent: submit=0 [1 6 0x3]',
        '6 more: submit=0 [1 6 0x10001]',
        'multishot RECV with len 4 and optlen 10, 14 bytes queued: submit=1 [2 4 0x20007] [2 4 0x30007] [2 4 0x40005]',
        'buffers: abcdef...... ghijkl...... mnop........ qrst........ uvwx........',
        'left in the socket: 2 yz',
        'optlen on a single RECV with a provided buffer: submit=1 [3 -22 0]',
        'optlen on a plain RECV: submit=1 [4 -22 0]',
        'optlen on a multishot RECVMSG: submit=1 [5 -22 0]',
        'addr2 on a RECV: submit=1 [6 -22 0]',
        'left in the socket: -1 ',
    ]


def test_mshottotalbundle():
    # sqe->optlen of a multishot bundle RECV: each pick stays within the limit left, and the receive reaching it is the last CQE (sentry/iouring/net.py _recv_bundle)
    assert same_as_native("fuzz_fixes_recv", "mshottotalbundle").splitlines() == [
        'multishot bundle RECV with optlen 10, 14 bytes queued: submit=1 [1 8 0x7] [1 2 0x20005]',
        'buffers: abcdefghij......................',
        'left in the socket: 4 klmn',
        'multishot bundle RECV with optlen 7, 6 bytes queued: submit=1 [2 4 0x30007] [2 2 0x40003]',
        '6 more: submit=0 [2 1 0x50005]',
        'buffers: abcdefghij..abcdef..g...........',
        'left in the socket: 5 hijkl',
    ]
