"""TIMEOUT waking a short wait, and execve cancelling in-flight requests,
against Linux (tests/c/timeout_exec.c; liburing's timeout test)."""
from harness import same_as_native


def test_timeout_ends_wait_and_exec_cancels_like_linux():
    assert same_as_native("timeout_exec").splitlines() == [
        "wait for 4 with one timeout: ret=0 ready=1 early=1",
        "child exit 0",
        "after exec: user_data=10 res=-125",
        "after exec: user_data=11 res=-125",
    ]
