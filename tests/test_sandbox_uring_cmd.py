"""URING_CMD and RECV_ZC against Linux (tests/c/uring_cmd.c): socket
commands (SIOCINQ/SIOCOUTQ by protocol, GETSOCKOPT at SOL_SOCKET only,
SETSOCKOPT, TX_TIMESTAMP without 32-byte CQEs), a registered socket, files
without a uring_cmd handler, the prep checks, and RECV_ZC without a
zero-copy receive queue."""
from harness import same_as_native


def test_uring_cmd_matches_linux():
    out = same_as_native("uring_cmd").splitlines()
    assert "tcp SIOCINQ: 5" in out
    assert "unix SIOCINQ: -95 EOPNOTSUPP" in out
    assert "tcp GETSOCKOPT SO_TYPE: 4 value=1" in out
    assert "udp SETSOCKOPT SO_KEEPALIVE: 0 now=1" in out
    assert "tcp TX_TIMESTAMP: -22 EINVAL" in out
    assert "fixed tcp GETSOCKOPT SO_KEEPALIVE: 4 value=1" in out
    assert "pipe: -95 EOPNOTSUPP" in out
    assert "RECV_ZC: -22 EINVAL" in out
    assert out[-1] == "data still there: 5"
