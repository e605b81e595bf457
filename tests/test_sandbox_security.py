"""The Sentry's own path walks against Linux's (tests/c/sec_*.c), run as root
natively and in the sandbox, each case as root and again after the program
dropped to nobody:

  * sec_resolve: OPENAT2's RESOLVE_* flags in a chroot (with and without
    procfs mounted inside), as task work, direct descriptor, personality and
    the openat2(2) control: nothing outside the jail is read or created;
  * sec_procself: /proc/self, /proc/thread-self and /proc/self/mem name the
    program, never the Sentry, on the host's /proc and in a chroot;
  * sec_search: search permission is checked on every directory a walk
    passes, '..' and symlink targets included, and never above its start;
  * sec_creds: a personality registered as root, and an SQPOLL ring set up
    as root, keep root's credentials after setuid(nobody);
  * sec_ringdirfd: the ring's own fd as a dirfd is ENOTDIR, with a CQE.

The race half (RENAME_EXCHANGE under the walk) is test_sandbox_security_race.py.

Every tree is built under a fresh directory in /tmp rather than pytest's
tmp_path: pytest's base directory is 0700, and the programs run as nobody.
Linux never needs search permission above a walk's start (the cwd, a dirfd,
the chroot), but a Sentry that re-walks host paths from '/' as nobody would
then fail with EACCES at pytest's directory, which would hide the very
escapes and missing checks these tests look for.
"""
import contextlib
import os
import shutil
import subprocess
import tempfile

import pytest

from harness import check, run_native, run_sandbox

SIDES = ("native", "sandbox")


@pytest.fixture
def base():
    """A directory nobody may search into, removed afterwards (after any
    procfs mounted below it is unmounted: rmtree must never enter one)."""
    path = tempfile.mkdtemp(prefix="pysentry-sec-", dir="/tmp")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        mounted = [line.split()[4] for line in open("/proc/self/mountinfo")]
        if not any(m.startswith(path + "/") for m in mounted):
            shutil.rmtree(path)


@contextlib.contextmanager
def procfs_at(*dirs):
    """Mount procfs on each of dirs (the program cannot: the sandbox denies
    mount(2)), unmounting them on the way out."""
    done = []
    try:
        for d in dirs:
            subprocess.run(["mount", "-t", "proc", "proc", d], check=True)
            done.append(d)
        yield
    finally:
        for d in reversed(done):
            subprocess.run(["umount", d], check=True)


def sides(base, *subdirs, mode=0o755):
    """base/native and base/sandbox, each with subdirs made inside."""
    out = {}
    for side in SIDES:
        root = os.path.join(base, side)
        os.mkdir(root, mode)
        for sub in subdirs:
            os.makedirs(os.path.join(root, sub))
        out[side] = root
    return out


def native_then_sandbox(name, native_args, sandbox_args, expected, timeout=120):
    """The native run must print `expected` (the specification, checked
    first so a wrong expectation shows as such), then the sandbox the same."""
    native = check(run_native(name, *native_args, timeout=timeout))
    assert native.splitlines() == expected
    sandboxed = check(run_sandbox(name, *sandbox_args, timeout=timeout))
    assert sandboxed == native


# --- sec_resolve: OPENAT2 resolve flags in a chroot ----------------------------------

RESOLVES = ["0", "NO_XDEV", "NO_MAGICLINKS", "NO_SYMLINKS", "BENEATH", "IN_ROOT",
            "NO_XDEV|NO_MAGICLINKS", "IN_ROOT|NO_SYMLINKS"]

# What each path reaches under each RESOLVE_* set (columns as RESOLVES), the
# same for all four ways of opening and for root and nobody.  "inside" is the
# jail's f, "sub" the jail's sub/f, "outside" the file outside the jail;
# -2 ENOENT, -18 EXDEV, -40 ELOOP.
_IN = "inside"
RESOLVE_TABLE = {
    "f":           [_IN, _IN, _IN, _IN, _IN, _IN, _IN, _IN],
    # '..' at the chroot stays there; BENEATH refuses any '..' above the start
    "../f":        [_IN, _IN, _IN, _IN, -18, _IN, _IN, _IN],
    "/f":          [_IN, _IN, _IN, _IN, -18, _IN, _IN, _IN],
    # IN_ROOT makes the dirfd (jail/sub) the root
    "sub:../../f": [_IN, _IN, _IN, _IN, -18, "sub", _IN, "sub"],
    # the outside directory's host path names nothing in the jail
    "HOST/f":      [-2, -2, -2, -2, -18, -2, -2, -2],
    # NO_XDEV refuses an absolute symlink met on a walk that started at a
    # relative path (nd_jump_root() before the root is set), but not one met
    # after an absolute start ("/abslink")
    "abslink":     [_IN, -18, _IN, -40, -18, _IN, -18, -40],
    "/abslink":    [_IN, _IN, _IN, -40, -18, _IN, _IN, -40],
    "uplink":      [_IN, _IN, _IN, -40, -18, _IN, _IN, -40],
    "hostlink":    [-2, -18, -2, -40, -18, -2, -18, -40],
}
NO_PROC = [-2, -2, -2, -2, -18, -2, -2, -2]
# Magic links with procfs in the jail: followed (even out of the jail, to the
# directory a held fd names) unless NO_MAGICLINKS (ELOOP) or a scoped walk
# (BENEATH, IN_ROOT: EXDEV) forbids it; NO_XDEV stops at the procfs mount;
# NO_SYMLINKS already at /proc/self.
MAGIC_IN = [_IN, -18, -40, -40, -18, -18, -18, -40]
MAGIC_OUT = ["outside", -18, -40, -40, -18, -18, -18, -40]
OPEN_MODES = ["openat2(2)", "OPENAT2", "OPENAT2 direct", "OPENAT2 personality"]
CREATE_RESOLVES = ["0", "NO_XDEV", "NO_MAGICLINKS", "NO_SYMLINKS", "BENEATH", "IN_ROOT"]


def resolve_expected(procfs):
    table = dict(RESOLVE_TABLE)
    table["/proc/self/fd/IN"] = MAGIC_IN if procfs else NO_PROC
    table["/proc/self/fd/OUT/f"] = MAGIC_OUT if procfs else NO_PROC
    lines = []
    for who in ("root", "nobody"):
        for mode in OPEN_MODES:
            for col, flags in enumerate(RESOLVES):
                for label, results in table.items():
                    lines.append("%s: %s %s %s: %s" % (who, mode, flags, label, results[col]))
        # O_CREAT|O_EXCL: "../NEW" lands in the jail's root, the outside
        # directory's host path does not exist in the jail.
        for mode in OPEN_MODES:
            for flags in CREATE_RESOLVES:
                if flags == "BENEATH":
                    up = host = "-18, in jail 0, outside 0"
                else:
                    up, host = "ok, in jail 1, outside 0", "-2, in jail 0, outside 0"
                lines.append("%s: create %s %s ../NEW: %s" % (who, mode, flags, up))
                lines.append("%s: create %s %s HOST/NEW: %s" % (who, mode, flags, host))
    return lines


def _resolve_case(base, procfs):
    dirs = sides(base, "jail/proc")
    jails = [os.path.join(dirs[s], "jail", "proc") for s in SIDES]
    with procfs_at(*(jails if procfs else ())):
        native_then_sandbox("sec_resolve", [dirs["native"]], [dirs["sandbox"]],
                            resolve_expected(procfs))
    for side in SIDES:
        # Nothing was made outside the jail (the program checks it too).
        assert sorted(os.listdir(dirs[side])) == ["f", "jail"], side
        with open(os.path.join(dirs[side], "f")) as f:
            assert f.read() == "outside\n"


def test_openat2_resolve_flags_stay_in_the_chroot(base):
    _resolve_case(base, procfs=False)


def test_openat2_resolve_flags_stay_in_the_chroot_with_procfs_inside(base):
    _resolve_case(base, procfs=True)


# --- sec_procself: /proc/self names the program ---------------------------------------

PROCSELF_MODES = [
    "open(2)", "openat2(2) NO_MAGICLINKS", "OPENAT", "OPENAT direct", "OPENAT personality",
    "OPENAT2 0", "OPENAT2 direct 0", "OPENAT2 personality 0",
    "OPENAT2 NO_MAGICLINKS", "OPENAT2 direct NO_MAGICLINKS", "OPENAT2 personality NO_MAGICLINKS",
    "OPENAT2 direct NO_XDEV", "OPENAT2 personality NO_XDEV",
    "OPENAT2 direct BENEATH", "OPENAT2 personality BENEATH",
]
PROCSELF_PATHS = ["/proc/self/status", "/proc/thread-self/status", "procfd:self/status",
                  "/proc/self/mem", "procfd:self/mem"]


def procself_expected(procfs):
    lines = []
    for who in ("root", "nobody"):
        for mode in PROCSELF_MODES:
            for label in PROCSELF_PATHS:
                absolute = label.startswith("/")
                if absolute and "BENEATH" in mode:
                    res = "-18"         # an absolute path is never beneath
                elif not procfs:
                    res = "-2"          # /proc is an empty directory
                elif absolute and "NO_XDEV" in mode:
                    res = "-18"         # from '/' into the procfs mount
                elif label.endswith("mem"):
                    res = "mem is mine 1"
                elif "thread-self" in label:
                    res = "thread of mine 1"
                else:
                    res = "self is me 1"
                lines.append("%s: %s %s: %s" % (who, mode, label, res))
    return lines


def test_proc_self_names_the_program_on_the_host_proc():
    native_then_sandbox("sec_procself", ["-"], ["-"], procself_expected(True))


def test_proc_self_names_the_program_in_a_chroot_with_procfs_inside(base):
    dirs = sides(base, "proc")
    with procfs_at(*(os.path.join(dirs[s], "proc") for s in SIDES)):
        native_then_sandbox("sec_procself", [dirs["native"]], [dirs["sandbox"]],
                            procself_expected(True))


def test_proc_self_is_absent_in_a_chroot_without_procfs(base):
    dirs = sides(base, "proc")
    native_then_sandbox("sec_procself", [dirs["native"]], [dirs["sandbox"]],
                        procself_expected(False))


# --- sec_search: search permission on every step ----------------------------------------

SEARCH_ROOT = [
    "open(2) pub/file: pub",
    "open(2) priv/../pub/file: pub",
    "open(2) ln: pub",
    "open(2) priv/link: pub",
    "open(2) priv/abslink: pub",
    "open(2) priv/secret: secret",
    "stat(2) priv/../pub/file: 0",
    "OPENAT pub/file: pub",
    "OPENAT priv/../pub/file: pub",
    "OPENAT direct priv/../pub/file: pub",
    "OPENAT personality priv/../pub/file: pub",
    "OPENAT direct ln: pub",
    "OPENAT direct priv/link: pub",
    "OPENAT personality priv/link: pub",
    "OPENAT2 direct 0 priv/../pub/file: pub",
    "OPENAT2 direct NO_MAGICLINKS priv/../pub/file: pub",
    "OPENAT2 direct NO_MAGICLINKS priv/link: pub",
    "OPENAT2 NO_XDEV ln: pub",
    "STATX pub/file: 0",
    "STATX priv/../pub/file: 0",
    "STATX personality priv/../pub/file: 0",
    "STATX ln: 0",
    "STATX priv/link: 0",
    "STATX priv/secret: 0",
    "STATX priv/sub: 0",
    "STATX priv/sub/../..: 0",
    "STATX priv/nonexist/../..: -2",
    "GETXATTR pub/file: 3",
    "GETXATTR priv/../pub/file: 3",
    "SETXATTR priv/../pub/file: 0",
    "pub/file has user.set 1",
    "MKDIRAT priv/../pub/NEWDIR: 0, pub/NEWDIR exists 1",
    "MKDIRAT personality priv/../pub/NEWDIR: 0, pub/NEWDIR exists 1",
    "MKDIRAT pub/NEWDIR: 0, pub/NEWDIR exists 1",
    "UNLINKAT priv/../pub/VICTIM: 0, pub/VICTIM exists 0",
    "RENAMEAT pub/VICTIM priv/../pub/MOVED: 0, pub/MOVED exists 1",
    "RENAMEAT priv/../pub/VICTIM pub/MOVED: 0, pub/MOVED exists 1",
    "LINKAT priv/../pub/OWN pub/HARD: 0, pub/HARD exists 1",
    "LINKAT pub/OWN priv/../pub/HARD: 0, pub/HARD exists 1",
    "SYMLINKAT x priv/../pub/SYM: 0, pub/SYM exists 1",
    "SENDMSG pub/sock: 1",
    "SENDMSG priv/../pub/sock: 1",
    "CONNECT priv/../pub/sock: 0",
    "BIND priv/../pub/SOCK: 0, pub/SOCK exists 1",
    "in anc/inner: open(2) file: deep",
    "in anc/inner: open(2) ../inner/file: deep",
    "in anc/inner: OPENAT file: deep",
    "in anc/inner: OPENAT direct file: deep",
    "in anc/inner: OPENAT personality file: deep",
    "in anc/inner: OPENAT direct ../inner/file: deep",
    "in anc/inner: OPENAT2 direct NO_MAGICLINKS file: deep",
    "in anc/inner: STATX file: 0",
    "in anc/inner: STATX .: 0",
    "in anc/inner: GETXATTR file: 4",
    "in anc/inner: MKDIRAT D: 0, D exists 1",
]

# As nobody every walk through priv (0700, root's) is EACCES, whichever way
# it enters: a component, a '..' after one, a symlink's target or a symlink
# inside it; "priv/sub/../.." and "priv/nonexist/../.." look the same.
SEARCH_NOBODY = [
    "open(2) pub/file: pub",
    "open(2) priv/../pub/file: -13",
    "open(2) ln: -13",
    "open(2) priv/link: -13",
    "open(2) priv/abslink: -13",
    "open(2) priv/secret: -13",
    "stat(2) priv/../pub/file: -13",
    "OPENAT pub/file: pub",
    "OPENAT priv/../pub/file: -13",
    "OPENAT direct priv/../pub/file: -13",
    "OPENAT personality priv/../pub/file: -13",
    "OPENAT direct ln: -13",
    "OPENAT direct priv/link: -13",
    "OPENAT personality priv/link: -13",
    "OPENAT2 direct 0 priv/../pub/file: -13",
    "OPENAT2 direct NO_MAGICLINKS priv/../pub/file: -13",
    "OPENAT2 direct NO_MAGICLINKS priv/link: -13",
    "OPENAT2 NO_XDEV ln: -13",
    "STATX pub/file: 0",
    "STATX priv/../pub/file: -13",
    "STATX personality priv/../pub/file: -13",
    "STATX ln: -13",
    "STATX priv/link: -13",
    "STATX priv/secret: -13",
    "STATX priv/sub: -13",
    "STATX priv/sub/../..: -13",
    "STATX priv/nonexist/../..: -13",
    "GETXATTR pub/file: 3",
    "GETXATTR priv/../pub/file: -13",
    "SETXATTR priv/../pub/file: -13",
    "pub/file has user.set 0",
    "MKDIRAT priv/../pub/NEWDIR: -13, pub/NEWDIR exists 0",
    "MKDIRAT personality priv/../pub/NEWDIR: -13, pub/NEWDIR exists 0",
    "MKDIRAT pub/NEWDIR: 0, pub/NEWDIR exists 1",
    "UNLINKAT priv/../pub/VICTIM: -13, pub/VICTIM exists 1",
    "RENAMEAT pub/VICTIM priv/../pub/MOVED: -13, pub/MOVED exists 0",
    "RENAMEAT priv/../pub/VICTIM pub/MOVED: -13, pub/MOVED exists 0",
    "LINKAT priv/../pub/OWN pub/HARD: -13, pub/HARD exists 0",
    "LINKAT pub/OWN priv/../pub/HARD: -13, pub/HARD exists 0",
    "SYMLINKAT x priv/../pub/SYM: -13, pub/SYM exists 0",
    "SENDMSG pub/sock: 1",
    "SENDMSG priv/../pub/sock: -13",
    "CONNECT priv/../pub/sock: -13",
    "BIND priv/../pub/SOCK: -13, pub/SOCK exists 0",
    # The cwd is below anc (0700): only "../inner" walks through anc.
    "in anc/inner: open(2) file: deep",
    "in anc/inner: open(2) ../inner/file: -13",
    "in anc/inner: OPENAT file: deep",
    "in anc/inner: OPENAT direct file: deep",
    "in anc/inner: OPENAT personality file: deep",
    "in anc/inner: OPENAT direct ../inner/file: -13",
    "in anc/inner: OPENAT2 direct NO_MAGICLINKS file: deep",
    "in anc/inner: STATX file: 0",
    "in anc/inner: STATX .: 0",
    "in anc/inner: GETXATTR file: 4",
    "in anc/inner: MKDIRAT D: 0, D exists 1",
]


@pytest.mark.parametrize("where", ["cwd", "chroot"])
def test_search_permission_is_checked_on_every_step_of_a_walk(base, where):
    """The same in the tree as the cwd and with the tree as the root."""
    dirs = sides(base)
    expected = (["root: " + line for line in SEARCH_ROOT] +
                ["nobody: " + line for line in SEARCH_NOBODY])
    native_then_sandbox("sec_search", [dirs["native"], where], [dirs["sandbox"], where],
                        expected)


# --- sec_creds: root's personality and SQPOLL ring after setuid --------------------------

def _creds_block(label, ok):
    if ok:
        return ["%s: STATX priv/secret: 0" % label,
                "%s: OPENAT direct priv/secret: secret" % label,
                "%s: OPENAT priv/secret: secret" % label,
                "%s: MKDIRAT priv/dir: 0" % label,
                "%s: UNLINKAT priv/dir: 0" % label]
    return ["%s: %s: -13" % (label, op) for op in
            ("STATX priv/secret", "OPENAT direct priv/secret", "OPENAT priv/secret",
             "MKDIRAT priv/dir", "UNLINKAT priv/dir")]


def test_root_personality_and_root_sqpoll_ring_keep_root_after_setuid(base):
    dirs = sides(base)
    expected = (_creds_block("root, plain ring", True) +
                _creds_block("root, SQPOLL ring", True) +
                _creds_block("nobody, plain ring", False) +
                _creds_block("nobody, plain ring, nobody's personality", False) +
                # the credentials registered stay the request's, whatever the
                # submitter became since
                _creds_block("nobody, plain ring, root's personality", True) +
                # the SQ thread runs with its creator's credentials
                _creds_block("nobody, SQPOLL ring set up as root", True) +
                ["nobody: ring setup: 0"] +
                _creds_block("nobody, ring set up as nobody", False) +
                ["nobody: SQPOLL ring setup: 0"] +
                _creds_block("nobody, SQPOLL ring set up as nobody", False))
    native_then_sandbox("sec_creds", [dirs["native"]], [dirs["sandbox"]], expected)


# --- sec_ringdirfd: the ring fd as a dirfd ------------------------------------------------

def test_ring_fd_as_dirfd_is_enotdir_with_a_cqe(base):
    dirs = sides(base)
    lines = []
    for who in ("root", "nobody"):
        for flags in ("NO_MAGICLINKS", "NO_SYMLINKS", "NO_XDEV", "BENEATH", "IN_ROOT", "0"):
            for how in ("OPENAT2 direct", "OPENAT2 personality", "OPENAT2"):
                lines.append("%s: %s %s ringfd:x: -20" % (who, how, flags))
        lines.append("%s: OPENAT2 direct NO_MAGICLINKS ringfd:/: 0" % who)   # slot 0
        lines.append("%s: OPENAT2 direct IN_ROOT ringfd:/: -20" % who)
        for op in ("OPENAT direct ringfd:x", "OPENAT personality ringfd:x", "OPENAT ringfd:x",
                   "STATX ringfd:x", "STATX personality ringfd:x", "MKDIRAT ringfd:x",
                   "UNLINKAT ringfd:x", "RENAMEAT ringfd:x ringfd:y", "SYMLINKAT t ringfd:x",
                   "LINKAT ringfd:x ringfd:y"):
            lines.append("%s: %s: -20" % (who, op))
    native_then_sandbox("sec_ringdirfd", [dirs["native"]], [dirs["sandbox"]], lines)
    for side in SIDES:
        assert os.listdir(dirs[side]) == [], side
