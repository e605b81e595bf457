"""IORING_OP_SOCKET and IORING_OP_ACCEPT against Linux: new fds land in the
child's table (task work), waiting accepts never block the Sentry, multishot
accepts post IORING_CQE_F_MORE, and direct variants fill the fixed table."""
from harness import same_as_native


def test_socket_and_accept_match_linux():
    lines = same_as_native("accept_socket").splitlines()
    assert "socket cloexec=1" in lines
    assert ("socket bad domain: user_data=2 Address family not supported by protocol more=0"
            in lines)
    assert "accept dontwait: user_data=4 Resource temporarily unavailable more=0" in lines
    assert "accepted: family=2 plen=16 nonblock=1" in lines
    assert "read accepted: 4 'ping'" in lines
    assert lines.count("multishot accept: user_data=6 ok more=1") == 3
    # Linux posts the cancel's CQE before the cancelled request's (task work)
    i = lines.index("cancel multishot: user_data=7 ok more=0")
    assert lines[i + 1] == "cancel multishot: user_data=6 Operation canceled more=0"
    assert "accept on a file: user_data=8 Socket operation on non-socket more=0" in lines
    assert "read via slot: 6 'direct'" in lines
    assert "alloc slot: 3" in lines
