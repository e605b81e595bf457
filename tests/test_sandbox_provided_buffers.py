"""Provided buffers (sentry/iouring/kbuf.py) against the host kernel:
PROVIDE_BUFFERS / REMOVE_BUFFERS, buffer rings (REGISTER_PBUF_RING,
UNREGISTER_PBUF_RING, PBUF_STATUS, IOU_PBUF_RING_INC) and IOSQE_BUFFER_SELECT
on READ/READV (a file, a pipe) and RECV/RECVMSG, one-shot and multishot.  tests/c/provided_buffers.c prints every CQE;
the sandbox must print exactly what Linux does.
"""
from harness import same_as_native


def test_provided_buffers_match_linux():
    out = same_as_native("provided_buffers")
    # Legacy groups: counts and the prep checks.
    assert "provide 4: user_data=1 res=0 flags=0" in out
    assert "remove 10 of 2: user_data=3 res=2 flags=0" in out
    assert "remove from emptied group: user_data=4 res=0 flags=0" in out
    assert "remove from unknown group: user_data=5 res=-2 flags=0" in out        # ENOENT
    assert "provide nbufs 65537: user_data=11 res=-7 flags=0" in out            # E2BIG
    assert "provide bids past 65535: user_data=14 res=-22 flags=0" in out
    assert "provide wrapping: user_data=16 res=-75 flags=0" in out              # EOVERFLOW
    assert "provide kernel address: user_data=17 res=-14 flags=0" in out        # EFAULT
    # Buffer select from a file: the CQE names the buffer, the data lands in it.
    assert "read len 8: user_data=31 res=8 flags=0x640001 bid=100" in out
    assert "read len 8 data: abcdefgh" in out
    assert "read len 0 (whole buffer): user_data=32 res=16 flags=0x650001 bid=101" in out
    assert "readv iov_len 5: user_data=33 res=5 flags=0x660001 bid=102" in out
    assert "read from empty group: user_data=34 res=-105 flags=0" in out        # ENOBUFS
    assert "readv two iovecs: user_data=36 res=-22 flags=0" in out
    assert "read into read-only buffer: user_data=39 res=-14 flags=0x12c0001 bid=300" in out
    # A pipe: the waiting read keeps its legacy buffer; cancelled, it reports it.
    assert "remove while a read waits: user_data=52 res=0 flags=0" in out
    assert "pipe read data: hello pipe" in out
    assert "cancel: user_data=54 res=-125 flags=0x20001" in out
    # Buffer rings: registration errors and EEXIST.
    assert "entries 3: -22" in out
    assert "null address: -14" in out
    assert "unmapped: -14" in out
    assert "register again: -17" in out
    assert "register over buffers: -17" in out
    assert "register over empty group: 0" in out
    assert "unregister again: -2" in out
    # Selection walks the ring, wraps, and PBUF_STATUS reports the head.
    assert "ring read: user_data=73 res=10 flags=0x30001 bid=3" in out
    assert "head after 4: 4" in out
    assert "ring empty: user_data=74 res=-105 flags=0" in out
    assert "ring read after wrap: user_data=76 res=20 flags=0x370001 bid=55" in out
    assert "head after 6: 6" in out
    # A waiting pipe read takes its ring entry only when the data comes.
    assert "head while waiting: 6" in out
    assert "ring pipe read: user_data=77 res=9 flags=0x430001 bid=67" in out
    assert "ring cancel: user_data=90 res=-125 flags=0" in out
    assert "head after cancel: 7" in out
    # Incremental consumption.
    assert "inc pipe read 10: user_data=80 res=10 flags=0x2a0011 bid=42 buf_more" in out
    assert "inc entry: len=38 advanced=26 head=0" in out
    assert "inc pipe read rest: user_data=82 res=38 flags=0x2a0001 bid=42" in out
    assert "inc entry: len=0 head=1" in out
    assert "inc pipe read at eof: user_data=83 res=0 flags=0x2b0011 bid=43 buf_more" in out
    # RECV: a waiting receive gives its buffer back; EOF names no buffer.
    assert "recv remove while waiting: user_data=103 res=1 flags=0" in out
    assert "recv after wait: user_data=102 res=5 flags=0x40001 bid=4" in out
    assert "legacy recv at eof: user_data=116 res=0 flags=0" in out
    # Multishot RECV: a CQE per receive, each with its own ring buffer.
    assert "mshot: user_data=110 res=8 more=1 nonempty=1 bid=1 data=89abcdef" in out
    assert "mshot: user_data=110 res=2 more=1 nonempty=0 bid=3 data=hi" in out
    assert "mshot: user_data=110 res=-105 more=0 nonempty=0" in out
    assert "mshot len 3: user_data=111 res=3 more=1 nonempty=1 bid=0 data=ABC" in out
    assert "mshot len 3: user_data=111 res=0 more=0 nonempty=0" in out
    assert "mshot waitall: user_data=112 res=-22 flags=0" in out
    assert "cq full: cqes=17 with_more=16 last res=1 bid=16 bids_in_order=1" in out
    # RECVMSG: one-shot into a capped buffer; multishot with recvmsg_out.
    assert "recvmsg: user_data=131 res=10 flags=0x140001 bid=20" in out
    assert "recvmsg msghdr: namelen=16 family=2 trunc=1" in out
    assert "recvmsg two iovecs: user_data=132 res=-22 flags=0" in out
    assert ("recvmsg mshot: res=35 more=1 bid=0 namelen=16 controllen=0 payloadlen=3 flags=0"
            " family=2 payload=abc") in out
    assert ("recvmsg mshot: res=256 more=1 bid=2 namelen=16 controllen=0 payloadlen=300"
            " flags=0x20 family=2 payload=qqqqqqqq") in out
    assert "recvmsg mshot cancel: user_data=133 res=-125 more=0 nonempty=0" in out
