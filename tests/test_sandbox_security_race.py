"""A chroot raced with RENAME_EXCHANGE (tests/c/sec_race.c) against Linux.

In the jail, "a" is a directory and "b" a symlink to the outside directory's
host path; a thread of the program swaps them in a loop while the program
submits io_uring path ops on "a/..." (10,000 of each family, in batches of
32), plus open(2) as the control.  Linux walks each path once, in the
program's root: it reaches the jail's file or fails with ENOENT on the
symlink, never the outside.  The program prints, per family, how many
requests reached the outside (must be 0); the test then checks the outside
directory by itself: nothing made, removed or changed there.

Run as root natively and in the sandbox, the program staying root or
dropping to nobody after chroot.  The tree sits under a fresh directory in
/tmp whose ancestors nobody may search (pytest's base directory is 0700),
so that an escape as nobody is not hidden by an EACCES above the jail.
"""
import os
import shutil
import tempfile

import pytest

from harness import check, run_native, run_sandbox

OPS_PER_FAMILY = 10000
FAMILIES = [
    "STATX a/f",
    "OPENAT a/f",
    "OPENAT personality a/f",
    "OPENAT direct a/f",
    "OPENAT2 direct NO_MAGICLINKS a/f",
    "GETXATTR a/f",
    "SETXATTR a/f (batches)",
    "MKDIRAT a/mk-N",
    "SYMLINKAT t a/sl-N",
    "UNLINKAT a/victim (batches)",
    "RENAMEAT a/victim a/moved (batches)",
    "LINKAT a/victim /lnk (batches)",
    "SENDMSG a/sock",
    "BIND a/bd-N",
    "open(2) a/f",
]


@pytest.fixture
def base():
    path = tempfile.mkdtemp(prefix="pysentry-sec-race-", dir="/tmp")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _outside_untouched(side):
    """The outside directory holds what the program put there, unchanged."""
    assert sorted(os.listdir(side)) == ["f", "jail", "sock", "victim"]
    with open(os.path.join(side, "f")) as f:
        assert f.read() == "outside\n"
    assert os.getxattr(os.path.join(side, "f"), "user.where") == b"outside"
    assert "user.hit" not in os.listxattr(os.path.join(side, "f"))
    with open(os.path.join(side, "victim")) as f:
        assert f.read() == "victim\n"


@pytest.mark.parametrize("who", ["root", "nobody"])
def test_rename_exchange_race_never_reaches_outside_the_chroot(base, who):
    expected = ["%s: reached outside 0" % family for family in FAMILIES]
    dirs = {}
    for side in ("native", "sandbox"):
        dirs[side] = os.path.join(base, side)
        os.makedirs(os.path.join(dirs[side], "jail"))
    native = check(run_native("sec_race", dirs["native"], who, OPS_PER_FAMILY, timeout=120))
    assert native.splitlines() == expected
    _outside_untouched(dirs["native"])
    sandboxed = check(run_sandbox("sec_race", dirs["sandbox"], who, OPS_PER_FAMILY,
                                  timeout=300))
    assert sandboxed == native
    _outside_untouched(dirs["sandbox"])
