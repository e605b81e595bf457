"""READV_FIXED / WRITEV_FIXED against Linux (tests/c/rw_vec_fixed.c):
vectored transfers in registered buffers, Linux's checks on the iovecs
(inside the buffer buf_index selects, non-empty, at most UIO_MAXIOV), links,
waiting on a pipe and cancellation."""
from harness import check, run_sandbox, same_as_native


def test_vectored_fixed_io_matches_linux():
    out = same_as_native("rw_vec_fixed").splitlines()
    assert "writev_fixed: [ud=1 res=20 flags=0]" in out
    assert "file: hello vectored world" in out
    assert "buf1: hel.......lo ve.....ctored world.................." in out
    assert "iovec in another registered buffer: [ud=1 res=-14EFAULT flags=0]" in out
    assert "a zero-length iovec: [ud=1 res=-14EFAULT flags=0]" in out
    assert "iovec count over UIO_MAXIOV: [ud=1 res=-22EINVAL flags=0]" in out
    assert "with IOSQE_BUFFER_SELECT: [ud=1 res=-95EOPNOTSUPP flags=0]" in out
    assert ("short read then linked nop: [ud=1 res=20 flags=0] [ud=2 res=-125ECANCELED flags=0]"
            in out)
    assert "buf1: pipedata" in out
    assert "pipe got: defabc" in out
    assert out[-1] == "after unregister: [ud=1 res=-14EFAULT flags=0]"


def test_short_rules_apply_to_vectored_fixed_io():
    # --inject's short=N cuts every read and write op's transfer, these too.
    out = check(run_sandbox("rw_vec_fixed", options=["--inject", "op=READV_FIXED:short=1"]))
    lines = out.splitlines()
    assert "readv_fixed: [ud=1 res=1 flags=0]" in lines
    assert "writev_fixed: [ud=1 res=20 flags=0]" in lines
