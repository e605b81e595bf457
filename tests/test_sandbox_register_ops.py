"""io_uring_register opcodes against Linux (tests/c/register_ops.c): io-wq
affinity and worker limits (per thread, SQPOLL's own), NAPI settings and
static ids, CLOCK (with an ABS_TIMER wait on BOOTTIME), SEND_MSG_RING with
fd -1, ZCRX_IFQ without a capable NIC, QUERY, and opcodes past 6.18's LAST."""
from harness import same_as_native


def test_register_ops_match_linux():
    out = same_as_native("register_ops").splitlines()
    assert "MAX_WORKERS set 3: 0 prev bounded=8" in out
    assert "MAX_WORKERS get: 0 3 5" in out
    assert "other thread IOWQ_AFF: -1 EINVAL" in out
    assert "NAPI again: 0 busy=10000 prefer=1 op_param=1" in out
    assert "ABS_TIMER on BOOTTIME 10ms ahead: -1 ETIME, under a second: 1" in out
    assert "  cqe ud=0x1234 res=77 flags=0x42" in out
    assert "ZCRX_IFQ: -1 EINVAL" in out
    assert "  features = params.features: 1; sqe flags 0x7f; enter flags 0xff" in out
    assert "QUERY cycle: -1 ERANGE" in out
    assert out[-1] == "opcode 37 on fd 999: -1 EINVAL"
