"""IORING_SETUP_DEFER_TASKRUN against Linux (tests/c/defer_taskrun.c):
deferred completions, the eventfd and IORING_SQ_TASKRUN, the submitter-only
wait, and a write(2) that wakes a POLL_ADD before it returns."""
from harness import same_as_native


def test_defer_taskrun_matches_linux():
    assert same_as_native("defer_taskrun").splitlines() == [
        "without SINGLE_ISSUER: -22",
        "with SQPOLL: -22",
        "nop: submit 1, ready 1 eventfd 1",
        "poll armed: ready 0 taskrun 0 eventfd 0",
        # The write's wakeup has run by the time write() returns.
        "after write: ready 0 taskrun 1 eventfd 1",
        "other thread: getevents -17, submit -17, plain enter 0",
        "after other thread: ready 0",
        "get_events 0: ready 1 taskrun 0",
        "poll cqe res=1",
        "timeout expired: ready 0 taskrun 1",
        "wait_cqe 0 user_data=9 res=-62",
    ]
