"""vfs/walk.py against the host kernel's own path walk, in-process.

The Sentry's walk runs here from this process's own root, so for every path
the host's openat2(2) with the same flags is the specification: the walk must
reach the same file (same inode) or fail with the same errno.  The tree has
what makes a walk interesting: '..' at and below the root, absolute and
relative symlinks, chains, loops, dangling and empty-ish links, trailing
slashes, a file used as a directory, a mount point (/proc) and procfs magic
links, under every RESOLVE_* flag.  Sandbox-level behaviour (chroot, other
credentials, races) is covered by tests/c/sec_*.c.
"""
import errno
import itertools
import os

import pytest

from pysentry.platform import libc
from pysentry.vfs import walk as vw

O_PATH = 0o10000000
FLAGS = [0, vw.RESOLVE_NO_SYMLINKS, vw.RESOLVE_NO_MAGICLINKS, vw.RESOLVE_NO_XDEV,
         vw.RESOLVE_BENEATH, vw.RESOLVE_IN_ROOT,
         vw.RESOLVE_NO_XDEV | vw.RESOLVE_NO_MAGICLINKS]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    top = tmp_path_factory.mktemp("walk")
    (top / "d" / "e").mkdir(parents=True)
    (top / "f").write_text("f")
    (top / "d" / "g").write_text("g")
    for name, target in [("rel", "d/g"), ("up", "../" + top.name + "/f"),
                         ("abs", str(top / "f")), ("dirlink", "d"),
                         ("chain", "rel"), ("loop1", "loop2"), ("loop2", "loop1"),
                         ("dangling", "nowhere"), ("slash", "d/"),
                         ("proc", "/proc"), ("selffd", "/proc/self/fd"),
                         ("procself", "/proc/self")]:
        os.symlink(target, top / name)
    os.symlink("../f", top / "d" / "back")
    return top


PATHS = [b"f", b"./f", b"d/g", b"d/../f", b"d/e/../../f", b"../" + b"x", b"rel", b"chain",
         b"up", b"abs", b"dirlink/g", b"dirlink/", b"slash", b"slash/g", b"d/back",
         b"loop1", b"dangling", b"nowhere", b"f/", b"f/x", b"d/", b"d/.", b"d/..", b".",
         b"..", b"/", b"//etc//hostname", b"/etc/../etc/hostname", b"proc/self/status",
         b"procself/status", b"selffd/0", b"/proc/self/cwd", b"/proc/thread-self/fd",
         b"d/e/../../../" ]


def _host(start_fd, path, flags, resolve):
    try:
        fd = libc.openat2(start_fd, path, libc.open_how(flags | os.O_CLOEXEC, 0, resolve))
    except OSError as e:
        return e.errno
    try:
        st = os.fstat(fd)
        return (st.st_dev, st.st_ino)
    finally:
        os.close(fd)


def _walked(start_fd, path, flags, resolve):
    root = os.open("/", O_PATH | os.O_CLOEXEC)
    pid = os.getpid()
    try:
        with vw.Walker(root, start_fd, tgid=pid, tid=libc.lib.syscall(186), resolve=resolve,
                       owns=[root]) as w:
            fd = w.open(path, flags, 0, not flags & os.O_NOFOLLOW)
    except OSError as e:
        return e.errno
    try:
        st = os.fstat(fd)
        return (st.st_dev, st.st_ino)
    finally:
        os.close(fd)


@pytest.mark.parametrize("resolve", FLAGS)
@pytest.mark.parametrize("flags", [os.O_RDONLY, O_PATH, O_PATH | os.O_NOFOLLOW,
                                   os.O_RDONLY | os.O_DIRECTORY])
def test_walk_reaches_what_the_host_reaches(tree, flags, resolve):
    start = os.open(tree, O_PATH | os.O_CLOEXEC)
    try:
        got = {p: _walked(start, p, flags, resolve) for p in PATHS}
        want = {p: _host(start, p, flags, resolve) for p in PATHS}
    finally:
        os.close(start)
    # Scoped lookups that meet '..' may fail with EAGAIN on the host when
    # anything on the system renamed meanwhile; ask the host again then.
    for p in PATHS:
        if want[p] == errno.EAGAIN:
            start = os.open(tree, O_PATH | os.O_CLOEXEC)
            want[p] = _host(start, p, flags, resolve)
            os.close(start)
    assert got == want


def test_parent_lookup_keeps_the_last_name_as_written(tree):
    start = os.open(tree, O_PATH | os.O_CLOEXEC)
    root = os.open("/", O_PATH | os.O_CLOEXEC)
    try:
        with vw.Walker(root, start, tgid=os.getpid(), tid=os.getpid()) as w:
            cases = {}
            for path in (b"x", b"d/x/", b"dirlink/x", b"d/..", b"d/.", b"/", b"f/x",
                         b"missing/x", b"loop1/x"):
                try:
                    p = w.lookup_parent(path)
                except OSError as e:
                    cases[path] = e.errno
                    continue
                cases[path] = (os.fstat(p.dir).st_ino, p.name, p.type)
                p.close()
    finally:
        os.close(start)
        os.close(root)
    ino = lambda rel: os.stat(tree / rel).st_ino
    assert cases == {
        b"x": (ino("."), b"x", vw.LAST_NORM),
        b"d/x/": (ino("d"), b"x/", vw.LAST_NORM),
        b"dirlink/x": (ino("d"), b"x", vw.LAST_NORM),
        b"d/..": (ino("d"), b"..", vw.LAST_DOTDOT),
        b"d/.": (ino("d"), b".", vw.LAST_DOT),
        b"/": (os.stat("/").st_ino, b"/", vw.LAST_ROOT),
        b"f/x": errno.ENOTDIR,
        b"missing/x": errno.ENOENT,
        b"loop1/x": errno.ELOOP,
    }


def test_dotdot_stops_at_the_root_it_is_given(tree):
    """A chroot(2)ed program's root: '..' and absolute symlinks stay in it."""
    root = os.open(tree / "d", O_PATH | os.O_CLOEXEC)
    try:
        results = {}
        for path in (b"../../../g", b"/g", b"back", b"e/../../g"):
            with vw.Walker(root, root, tgid=os.getpid(), tid=os.getpid()) as w:
                try:
                    fd = w.open(path, os.O_RDONLY, 0, True)
                except OSError as e:
                    results[path] = e.errno
                    continue
                results[path] = os.read(fd, 10)
                os.close(fd)
    finally:
        os.close(root)
    # d/back -> ../f: from the root d, '..' stays at d, and d/f does not exist.
    assert results == {b"../../../g": b"g", b"/g": b"g", b"back": errno.ENOENT,
                       b"e/../../g": b"g"}


def test_walk_leaves_no_fd_behind(tree):
    before = set(os.listdir("/proc/self/fd"))
    start = os.open(tree, O_PATH | os.O_CLOEXEC)
    for path, resolve in itertools.product(PATHS, FLAGS):
        _walked(start, path, os.O_RDONLY, resolve)
    os.close(start)
    assert set(os.listdir("/proc/self/fd")) == before
