"""A request never disappears (sentry/iouring/failsafe.py): an internal error
in an op's prep, issue or task work completes the request with -EIO, reported
on stderr, and the ring goes on.  PYSENTRY_FAULT makes those steps fail."""
from harness import check, run_sandbox


def test_internal_errors_complete_the_request_with_eio():
    proc = run_sandbox("failsafe", env={"PYSENTRY_FAULT": "issue:NOP,prep:READ,taskwork:OPENAT"})
    # The first NOP faults; the second NOP is the same op faulting again
    # (reported once, then counted), so it fails too: the ring still serves.
    assert check(proc).splitlines() == [
        "NOP: user_data=1 res=-5",
        "READ: user_data=2 res=-5",
        "OPENAT: user_data=3 res=-5",
        "NOP again: user_data=4 res=-5",
    ]
    # A traceback the first time a (phase, op) goes wrong, a count after.
    for phase, op in (("issue", "NOP"), ("prep", "READ"), ("taskwork", "OPENAT")):
        assert proc.stderr.count("internal error in %s of %s (user_data" % (phase, op)) == 1, \
            proc.stderr
    assert proc.stderr.count("Traceback") == 3
    assert "internal error in issue of NOP again (2 times)" in proc.stderr


def test_without_faults_the_same_program_succeeds():
    out = check(run_sandbox("failsafe")).splitlines()
    assert out[0] == "NOP: user_data=1 res=0"
    assert out[2].startswith("OPENAT: user_data=3 res=") and int(out[2].split("=")[-1]) >= 0
    assert out[3] == "NOP again: user_data=4 res=0"
