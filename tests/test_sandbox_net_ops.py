"""SEND, RECV, SENDMSG, RECVMSG, CONNECT, SHUTDOWN, BIND, LISTEN, SEND_ZC against Linux."""
from harness import same_as_native


def test_net_ops_match_linux():
    lines = same_as_native("net_ops").splitlines()
    # stream socketpair: data, partial receive (data left: SOCK_NONEMPTY), iovecs
    assert "send+recv: user_data=2 res=5 flags=0" in lines
    assert "recv data: hello" in lines
    assert "partial recv: user_data=3 res=4 flags=0x4" in lines
    assert "recvmsg iov: a=abc b=defghi flags=0 controllen=0 namelen=0" in lines
    # MSG_WAITALL waits across two writes; cut short by EOF it fails the link
    assert "waitall after 4 of 8: still waiting" in lines
    assert "waitall: user_data=7 res=8 flags=0" in lines
    assert "recvmsg waitall: user_data=8 res=6 flags=0" in lines
    assert "waitall eof: user_data=9 res=2 flags=0" in lines
    assert "waitall eof: user_data=90 res=-125 flags=0" in lines
    # MSG_DONTWAIT: -EAGAIN; without it the receive waits, even on O_NONBLOCK
    assert "dontwait empty: user_data=10 res=-11 flags=0" in lines
    assert "nonblock socket recv: still waiting" in lines
    assert "nonblock socket recv: user_data=11 res=4 flags=0" in lines
    assert "still blocking: 1" in lines
    assert "recv link timeout: user_data=12 res=-125 flags=0" in lines
    assert "recv link timeout: user_data=13 res=-62 flags=0" in lines
    assert "recv waits for thread: user_data=14 res=11 flags=0" in lines
    assert "recv after shutdown: user_data=16 res=0 flags=0" in lines
    assert "send after shutdown: user_data=17 res=-32 flags=0" in lines     # EPIPE, no SIGPIPE
    assert "scm_rights: n=1 byte=F fd passed=1 read=13 via passed fd" in lines
    assert "sendmsg scm_rights bad fd: user_data=19 res=-9 flags=0" in lines
    # MSG_WAITALL sends larger than the socket buffer keep their progress
    assert "send waitall big: user_data=80 res=262144 flags=0" in lines
    assert "sendmsg waitall big: user_data=81 res=262144 flags=0" in lines
    assert lines.count("drained: 262144") == 2
    assert "recv poll first: user_data=82 res=2 flags=0" in lines
    # datagrams with names, bound by relative path in the program's cwd
    assert "bound in cwd: 1 1" in lines
    assert "getsockname: len=9 path=a.sock" in lines
    assert "recvmsg name: data=dgram namelen=9 from=a.sock flags=0" in lines
    assert "short name: data=to-b namelen=9 first=a. rest=0" in lines
    assert "trunc flags=0x20" in lines
    assert "recv MSG_TRUNC: user_data=27 res=10 flags=0" in lines
    assert "dgram waitall link: user_data=29 res=-125 flags=0" in lines
    assert "send to missing path: user_data=30 res=-2 flags=0" in lines
    assert "connected send+recv: user_data=33 res=4 flags=0" in lines
    # TCP over loopback
    assert "tcp listen: user_data=41 res=0 flags=0" in lines
    assert "tcp connect: user_data=42 res=0 flags=0" in lines
    assert "client still blocking: 1" in lines
    assert "tcp data: over tcp" in lines
    assert "send_zc: user_data=46 res=8 flags=0x2" in lines                 # F_MORE
    assert "send_zc: user_data=46 res=0 flags=0x8" in lines                 # F_NOTIF
    assert "tcp recv eof: user_data=49 res=0 flags=0x4" in lines
    assert "connect refused: user_data=50 res=-111 flags=0" in lines
    assert "connect refused nonblock: user_data=51 res=-111 flags=0" in lines
    assert "connect nonblock: user_data=52 res=0 flags=0" in lines
    assert "send_zc unix: user_data=54 res=-95 flags=0x2" in lines
    # errors
    assert "enotsock: user_data=62 res=-88 flags=0" in lines
    assert "ebadf: user_data=65 res=-9 flags=0" in lines
    assert "shutdown bad field: user_data=67 res=-22 flags=0" in lines
    assert "send kernel address: user_data=70 res=-14 flags=0" in lines
    assert "recvmsg too many iovecs: user_data=74 res=-90 flags=0" in lines   # EMSGSIZE
    assert "recv 2GiB length: user_data=75 res=-22 flags=0" in lines


def test_net_msghdr_compat_ring_matches_linux():
    """A ring set up through int 0x80 takes compat_msghdr, compat iovecs
    and compat control messages, as Linux's ctx->compat ring does."""
    lines = same_as_native("net_compat").splitlines()
    assert "compat sendmsg: user_data=1 res=6 flags=0" in lines
    assert "received: n=6 data=compat fd=1 read=3 fd!" in lines
    assert "compat sendmsg bad cmsg: user_data=2 res=-22 flags=0" in lines
    assert ("compat recvmsg: data=udp-data namelen=16 family=2 loopback=1 controllen=24 "
            "flags=0 cmsg len=24 level=0 type=8 ifindex=1 dst=127.0.0.1") in lines
    assert "ctrunc: controllen=0 flags=0x8" in lines
    assert "partial: controllen=18 flags=0x8 cmsg len=18 byte17=0 byte18=0xee" in lines
