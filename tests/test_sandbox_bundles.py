"""SEND with provided buffers and send/recv bundles (IORING_RECVSEND_BUNDLE)
against the host kernel: tests/c/bundles.c prints every CQE and the bytes
that moved; the sandbox must print exactly what Linux does, including the
feature word, which must be the host's whole (FEAT_RECVSEND_BUNDLE too)."""
from harness import same_as_native


def test_bundles_match_linux():
    out = same_as_native("bundles")
    assert out.startswith("features: 0x3ffff bundle: 1\n")
    # SEND with IOSQE_BUFFER_SELECT: a legacy buffer is sent whole whatever
    # sqe->len says; a ring buffer is cut to it; no group is ENOENT.
    assert "send legacy len 4: user_data=3 res=8 flags=0xb0001 bid=11" in out
    assert "send legacy len 4 peer: 8 BBBBBBBB" in out
    assert "send legacy empty: user_data=4 res=-105 flags=0" in out
    assert "send unknown group: user_data=5 res=-2 flags=0" in out
    # sqe->len of 2 GiB or more: EINVAL at prep, even on a non-socket.
    assert "send select len 2G: user_data=11 res=-22 flags=0" in out
    assert "send select len -1 on stdin: user_data=12 res=-22 flags=0" in out
    assert "recv select len -1: user_data=13 res=-22 flags=0" in out
    assert "recv bundle len 2G: user_data=14 res=-22 flags=0" in out
    assert "send ring len 3: user_data=7 res=3 flags=0x150001 bid=21" in out
    assert "send ring head: 2 entry len=8" in out
    assert "sendmsg buffer select: user_data=9 res=-95 flags=0" in out
    # Send bundles: all of the ring at once, or a CQE with F_MORE per round
    # when sqe->len stops the first one short of the ring's end.
    assert "send bundle len 0: user_data=20 res=15 flags=0x1e0001 bid=30" in out
    assert "send bundle len 0 peer: 15 one..two..three" in out
    assert "send bundle len 6: user_data=21 res=4 flags=0x210003 bid=33 more" in out
    assert "send bundle len 6: user_data=21 res=12 flags=0x220001 bid=34" in out
    assert "send bundle len 6 peer: 16 aaaabbbbccccdddd" in out
    assert "send bundle len 8: user_data=22 res=8 flags=0x250003 bid=37 more" in out
    assert "send bundle empty ring: user_data=23 res=-105 flags=0" in out
    # Incremental ring: the cut buffer stays, moved on (BUF_MORE).
    assert "send bundle inc len 12: user_data=34 res=12 flags=0x2a0013 bid=42 buf_more more" in out
    assert "send bundle inc len 12: user_data=34 res=6 flags=0x2b0001 bid=43" in out
    assert "send inc len 4: user_data=25 res=4 flags=0x2c0011 bid=44 buf_more" in out
    # A legacy group: one buffer per round.
    assert "send bundle legacy: user_data=27 res=8 flags=0x320003 bid=50 more" in out
    assert "send bundle legacy: user_data=27 res=8 flags=0x330001 bid=51" in out
    assert "send bundle unknown group: user_data=30 res=-2 flags=0" in out
    # Without buffer select a SEND bundle is accepted; SENDMSG's is EINVAL.
    assert "send bundle without select: user_data=31 res=1 flags=0x2 more" in out
    assert "send bundle without select: user_data=31 res=0 flags=0" in out
    assert "sendmsg bundle: user_data=32 res=-22 flags=0" in out
    # Receive bundles.
    assert "recv bundle len 0: user_data=40 res=10 flags=0x3c0001 bid=60 data=0123456789" in out
    assert "recv bundle len 7: user_data=41 res=5 flags=0x3e0005 bid=62 data=abcde" in out
    assert ("recv bundle len 10: user_data=46 res=15 flags=0x3f0005 bid=63"
            " data=ABCDEFGHIJKLMNO") in out
    assert "recv bundle waited: user_data=42 res=10 flags=0x420001 bid=66 data=waitedwait" in out
    assert ("recv bundle ring short: user_data=43 res=20 flags=0x640005 bid=100"
            " data=zzzzzyyyyyxxxxxwwwww") in out
    assert "recv bundle ring empty: user_data=44 res=-105 flags=0" in out
    assert "recv mshot bundle: user_data=45 res=12 flags=0x460003 bid=70 more data=mshot-bundle" in out
    assert "recv mshot bundle: user_data=45 res=6 flags=0x490003 bid=73 more data=second" in out
    assert "recv mshot bundle: user_data=45 res=0 flags=0" in out
    assert "recv mshot head: 5" in out
    assert "recv bundle inc: user_data=50 res=16 flags=0x500001 bid=80 data=0123456789abcdef" in out
    assert "recv bundle inc part: user_data=58 res=6 flags=0x520011 bid=82 buf_more data=ghijkl" in out
    assert "recv bundle inc rest: user_data=51 res=2 flags=0x520011 bid=82 buf_more data=XY" in out
    assert "recv bundle legacy: user_data=53 res=8 flags=0x5a0005 bid=90 data=legacyre" in out
    assert "recv bundle unknown group: user_data=54 res=-2 flags=0" in out
    assert "recv bundle without select: user_data=55 res=5 flags=0x4" in out
    assert "recvmsg bundle: user_data=56 res=-22 flags=0" in out
    assert "recvmsg bundle select: user_data=57 res=-22 flags=0" in out
    # A send bundle that waits keeps the buffers it took (the head moved);
    # cancelled, its CQE names them.
    assert "send bundle waiting: no cqe head=3" in out
    assert "send bundle waited: user_data=60 res=15 flags=0x6e0001 bid=110" in out
    assert "send bundle waited peer tail: wait1wait2wait3" in out
    assert "send bundle cancel: user_data=61 res=-125 flags=0x710001 bid=113" in out
    assert "send bundle cancel head: 5" in out
    # Multishot: the round that empties the group is the last CQE.
    assert "mshot bundle: user_data=70 res=8 flags=0x780003 bid=120 more data=abcdefgh" in out
    assert "mshot bundle: user_data=70 res=4 flags=0x7a0005 bid=122 data=ijkl" in out
    assert "mshot bundle dry: user_data=71 res=2 flags=0x7d0001 bid=125 data=yz" in out
    assert "recv bundle poll first: user_data=72 res=8 flags=0x7e0005 bid=126 data=pollfirs" in out
    # TCP: the FIN counts as a byte waiting (SOCK_NONEMPTY), even at EOF.
    assert "tcp recv bundle: user_data=73 res=16 flags=0x820005 bid=130 data=tcp-bundle-data!" in out
    assert "tcp recv bundle eof: user_data=74 res=0 flags=0x4" in out
    assert "tcp send bundle peer: 8 tcpsend." in out
    # Datagrams: one per receive over several buffers, cut to them; a send
    # bundle is one datagram.
    assert "dgram recv bundle: user_data=76 res=8 flags=0x960001 bid=150 data=dgram-8!" in out
    assert "dgram recv bundle cut: user_data=77 res=10 flags=0x980001 bid=152 data=second dat" in out
    assert "dgram recv bundle head: 4" in out
    assert "dgram send bundle peer: 11 onetwothree" in out
    # MSG_WAITALL: a short receive consumes the buffers picked and waits to
    # fill them.
    assert "recv bundle waitall: no cqe head=14" in out
    assert "recv bundle waitall: user_data=79 res=8 flags=0xc00005 bid=192 data=12345678" in out
    # Multishot with sqe->len: each round is capped by it.
    assert "mshot bundle len 10: user_data=80 res=8 flags=0x800007 bid=128 more data=capped-m" in out
    assert "mshot bundle len 10: user_data=80 res=8 flags=0xbe0003 bid=190 more data=ultishot" in out
    assert "mshot bundle len 10: user_data=80 res=0 flags=0" in out
