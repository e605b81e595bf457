"""Waiting against Linux: io_uring_enter waits (timeouts, signals,
sigmask), polls, timeouts and cancellation, SQ polling, disabled rings and
restrictions, and synchronous cancel."""
import re

from harness import check, run_native, run_sandbox, same_as_native


def test_wait_timeouts_signals_and_sigmask_match_linux():
    out = same_as_native("wait_semantics")
    assert "timeout: -62 waited-enough=1" in out
    assert "signal during wait: -4" in out
    assert "submit 1 then wait for 5 (interrupted): 1" in out
    assert "masked signal during timed wait: -62 delivered-after=1" in out
    assert "sigmask bad pointer: -14" in out
    assert "SA_RESTART signal during wait: -4" in out


def test_poll_add_remove_multishot_match_linux():
    out = same_as_native("poll_ops")
    assert "oneshot: user_data=1 res=0x1 more=0" in out
    assert "remove: user_data=5 res=0xffffff83 more=0" in out       # -ECANCELED
    assert "remove unknown: user_data=7 res=0xfffffffe more=0" in out   # -ENOENT
    assert "multishot event 2: user_data=8 res=0x1 more=1" in out
    assert "after update: user_data=80 res=0x1 more=1" in out
    assert "after events update: user_data=80 res=0x41 more=1" in out
    assert "after events update, again: user_data=80 res=0x41 more=1" in out
    assert "bad fd: user_data=13 res=0xfffffff7 more=0" in out


def test_timeouts_link_timeouts_and_cancel_match_linux():
    out = same_as_native("timeouts")
    assert "timeout: user_data=1 res=-62 more=0" in out
    assert "waited-enough=1" in out
    assert "count: user_data=2 res=0 more=0" in out
    assert "remove: user_data=5 res=-125 more=0" in out
    assert "link timeout fires: user_data=20 res=-125 more=0" in out
    assert "link timeout fires: user_data=21 res=-62 more=0" in out
    assert "link timeout cancelled: user_data=23 res=-125 more=0" in out
    assert "cancel all by fd: user_data=34 res=2 more=0" in out
    assert "timeouts do not count: user_data=41 res=-62 more=0" in out


def test_sqpoll_submits_without_any_trap():
    native = check(run_native("sqpoll"))
    proc = run_sandbox("sqpoll", options=["--stats"])
    assert check(proc) == native
    assert "round 2: 4 completions" in native
    assert "need wakeup after idle: 1" in native
    # 12 NOPs went through the SQ thread; only the final submit-and-wait
    # (and at most one wake-up) entered the kernel.
    enters = [ln for ln in proc.stderr.splitlines() if "io_uring_enter calls:" in ln]
    assert enters and int(enters[0].split()[3].rstrip(",")) <= 2, proc.stderr
    # All 13 NOPs are counted: in the per-opcode table those Python ran,
    # in the data plane line those the SQ thread ran in C.
    assert "SQEs: 13," in enters[0], proc.stderr
    m = re.search(r"pysentry: NOP +(\d+)", proc.stderr)
    in_python = int(m.group(1)) if m else 0
    m = re.search(r"data plane: (\d+) SQEs in C", proc.stderr)
    assert m and in_python + int(m.group(1)) == 13, proc.stderr


def test_disabled_rings_and_restrictions_match_linux():
    out = same_as_native("restrictions")
    assert "submit while disabled: -77" in out            # -EBADFD
    assert "register them again: -16" in out
    assert "queued nop res: 0" in out
    assert "forbidden fsync: -13" in out                   # -EACCES
    assert "forbidden flag: -13" in out
    assert "forbidden register: -13" in out
    assert "restrictions on an enabled ring: -77" in out
    # Linux ignores the reserved fields, registers nothing when an entry is
    # bad, and takes an empty list (which then allows nothing).
    assert out.splitlines()[-8:] == [
        "bad restriction entry: -22", "garbage in reserved fields: 0", "enable r3: 0",
        "r3 nop: 0", "empty restrictions: 0", "enable r4: 0", "r4 nop: -13", "r4 probe: -13"]


def test_register_sync_cancel_matches_linux():
    assert same_as_native("sync_cancel").splitlines() == [
        "by user_data: 0",
        "cqes: [ud=0x89 res=-125] pending=0",
        "all by user_data: 3",
        "cqes: [ud=0x90 res=-125] [ud=0x90 res=-125] [ud=0x90 res=-125] pending=0",
        "by fd: 0",
        "cqes: [ud=0x91 res=-125] pending=0",
        "all polls by opcode: 1",
        "cqes: [ud=0 res=-125] pending=0",
        "any: 1",
        "cqes: [ud=0 res=-125] pending=0",
        "nothing to cancel: -2",
        "unknown flag: -22",
        "bad fd: -9",
        "fixed fd without a table: -9",
        "any with fd, nothing left: 0",
        "all by fd, nothing left: 0",
        "ASYNC_CANCEL all, nothing: 0",
        "ASYNC_CANCEL any, nothing: 0",
        "non-zero pad: -22",
        "non-zero pad2: -22",
        "nr_args 2: -22",
        "bad pointer: -14",
    ]
