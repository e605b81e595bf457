"""WAITID against Linux (tests/c/waitid_op.c): children that exited before,
exit later (the request waits), WNOHANG, WNOWAIT, a signal death, NULL
infop, the argument checks, cancellation (reporting 1) and a link."""
from harness import same_as_native


def test_waitid_op_matches_linux():
    out = same_as_native("waitid_op").splitlines()
    assert out[0] == "no children: [ud=1 res=-10]"
    assert "  signo=17 errno=0 code=1 pid=child status=3 pad=eeeeeeee tail=ee" in out
    assert "waits while the child runs: 1" in out
    assert "  signo=17 errno=0 code=1 pid=child status=7 pad=eeeeeeee tail=ee" in out
    assert "  signo=0 errno=0 code=0 pid=0 status=0 pad=eeeeeeee tail=ee" in out
    assert "  signo=17 errno=0 code=2 pid=child status=15 pad=eeeeeeee tail=ee" in out
    assert "unknown option: [ud=11 res=-22]" in out
    assert "not a child: [ud=14 res=-10]" in out
    assert "cancel: [ud=21 res=1] [ud=20 res=-125]" in out
    assert "the cancelled wait left the child to waitpid: 4" in out
    assert "link after the wait: [ud=22 res=0] [ud=23 res=0]" in out
