"""Unit tests for vfs/mount.py (the mount table) and vfs/resolve.py (the path walk).

Real directory trees with symlinks are built under tmp_path and bind-mounted
at guest /guest; the expected errno values are those Linux's path walk gives.
"""
import errno
import os

import pytest

from pysentry.vfs.mount import Mount, MountTable, normalize
from pysentry.vfs.resolve import (MAXSYMLINKS, NAME_MAX, PATH_MAX, Resolved, is_magic_link,
                                  resolve)

TGID = os.getpid()
TID = os.getpid()


@pytest.fixture
def tree(tmp_path):
    """tmp_path (host) mounted at guest /guest, with:

    dir/           file (b"data"), sub/deep
    file           regular file
    rel -> dir/file          abs -> /guest/dir (guest-absolute)
    chain1 -> chain2 -> chain3 -> dir
    dangling -> missing      loopa <-> loopb      selfloop -> selfloop
    up -> ..                 dirlink -> dir       filelink -> file
    slashlink -> file/       slashdangling -> newfile/
    """
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "deep").write_bytes(b"")
    (tmp_path / "dir" / "file").write_bytes(b"data")
    (tmp_path / "file").write_bytes(b"x")
    os.symlink("dir/file", tmp_path / "rel")
    os.symlink("/guest/dir", tmp_path / "abs")
    os.symlink("chain2", tmp_path / "chain1")
    os.symlink("chain3", tmp_path / "chain2")
    os.symlink("dir", tmp_path / "chain3")
    os.symlink("missing", tmp_path / "dangling")
    os.symlink("loopb", tmp_path / "loopa")
    os.symlink("loopa", tmp_path / "loopb")
    os.symlink("selfloop", tmp_path / "selfloop")
    os.symlink("..", tmp_path / "dir" / "up")
    os.symlink("dir", tmp_path / "dirlink")
    os.symlink("file", tmp_path / "filelink")
    os.symlink("file/", tmp_path / "slashlink")
    os.symlink("newfile/", tmp_path / "slashdangling")
    mounts = MountTable()
    mounts.add(b"/guest", os.fsencode(tmp_path))
    return mounts, os.fsencode(tmp_path)


def r(mounts, path, cwd=b"/", **kw):
    kw.setdefault("tgid", TGID)
    kw.setdefault("tid", TID)
    return resolve(mounts, path, cwd=cwd, **kw)


def errno_of(mounts, path, **kw):
    with pytest.raises(OSError) as info:
        r(mounts, path, **kw)
    return info.value.errno


# --- mount table -----------------------------------------------------------------------

def test_root_mount_identity():
    mounts = MountTable()
    mount, host = mounts.lookup(b"/etc/passwd")
    assert mount.guest_path == b"/" and mount.host_path == b"/" and not mount.readonly
    assert host == b"/etc/passwd"
    assert mounts.lookup(b"/")[1] == b"/"


def test_lookup_longest_component_prefix():
    mounts = MountTable()
    ab = mounts.add(b"/a/b", b"/host/ab", readonly=True)
    a = mounts.add(b"/a", b"/host/a")
    assert mounts.lookup(b"/a/b") == (ab, b"/host/ab")
    assert mounts.lookup(b"/a/b/c/d") == (ab, b"/host/ab/c/d")
    # b'/a/bc' is not under the mount at b'/a/b'.
    assert mounts.lookup(b"/a/bc") == (a, b"/host/a/bc")
    assert mounts.lookup(b"/a") == (a, b"/host/a")
    assert mounts.lookup(b"/ab")[0].guest_path == b"/"
    assert ab.readonly and not a.readonly


def test_add_normalizes_and_rejects_relative():
    mounts = MountTable()
    m = mounts.add(b"//x/./y/", b"/h//z/")
    assert (m.guest_path, m.host_path) == (b"/x/y", b"/h/z")
    with pytest.raises(ValueError):
        mounts.add(b"rel", b"/h")
    assert normalize(b"/a/../../b/.") == b"/b"


def test_later_mount_shadows_earlier():
    mounts = MountTable()
    mounts.add(b"/m", b"/first")
    second = mounts.add(b"/m", b"/second")
    assert mounts.lookup(b"/m/f") == (second, b"/second/f")


def test_other_root():
    mounts = MountTable(Mount(b"/", b"/srv/root"))
    assert mounts.lookup(b"/bin/sh")[1] == b"/srv/root/bin/sh"
    assert mounts.lookup(b"/")[1] == b"/srv/root"
    assert mounts.guest_of_host(b"/srv/root/tmp") == b"/tmp"
    assert mounts.guest_of_host(b"/srv/root") == b"/"
    assert mounts.guest_of_host(b"/srv/rootx") is None
    assert mounts.guest_of_host(b"/etc") is None


def test_guest_of_host_longest_host_prefix():
    mounts = MountTable()
    mounts.add(b"/guest", b"/tmp/x")
    assert mounts.guest_of_host(b"/tmp/x") == b"/guest"
    assert mounts.guest_of_host(b"/tmp/x/a/b") == b"/guest/a/b"
    assert mounts.guest_of_host(b"/tmp/xy") == b"/tmp/xy"
    assert mounts.guest_of_host(b"/usr") == b"/usr"
    assert mounts.guest_of_host(b"pipe:[12]") is None


# --- plain walks -----------------------------------------------------------------------

def test_guest_to_host_mapping(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/dir/file")
    assert isinstance(res, Resolved)
    assert res.guest_path == b"/guest/dir/file"
    assert res.host_path == host + b"/dir/file"
    assert res.exists and not res.is_magic and not res.trailing_slash
    assert res.mount.guest_path == b"/guest"
    assert res.st is not None and res.st.st_size == 4


def test_outside_mount_uses_root(tree):
    mounts, _ = tree
    res = r(mounts, b"/etc/../etc//./passwd")
    assert res.guest_path == b"/etc/passwd" and res.host_path == b"/etc/passwd"
    assert res.mount.guest_path == b"/"


def test_root_and_dot(tree):
    mounts, host = tree
    res = r(mounts, b"/")
    assert (res.guest_path, res.host_path, res.exists) == (b"/", b"/", True)
    res = r(mounts, b".", cwd=b"/guest/dir")
    assert (res.guest_path, res.host_path) == (b"/guest/dir", host + b"/dir")
    res = r(mounts, b"///guest///dir//")
    assert res.guest_path == b"/guest/dir" and res.trailing_slash


def test_relative_to_cwd_and_dirfd(tree):
    mounts, host = tree
    assert r(mounts, b"file", cwd=b"/guest/dir").host_path == host + b"/dir/file"
    res = r(mounts, b"sub/deep", cwd=b"/", dirfd_path=b"/guest/dir")
    assert res.guest_path == b"/guest/dir/sub/deep" and res.host_path == host + b"/dir/sub/deep"
    # An absolute path ignores both.
    assert r(mounts, b"/guest/file", cwd=b"/guest/dir",
             dirfd_path=b"/guest/dir/sub").host_path == host + b"/file"


def test_missing_final_component(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/dir/new")
    assert not res.exists and res.host_path == host + b"/dir/new"
    assert res.guest_path == b"/guest/dir/new" and res.st is None
    res = r(mounts, b"/guest/newdir/")
    assert not res.exists and res.trailing_slash and res.host_path == host + b"/newdir"


# --- '..' -------------------------------------------------------------------------------

def test_dotdot(tree):
    mounts, host = tree
    assert r(mounts, b"/guest/dir/sub/../file").host_path == host + b"/dir/file"
    # Never above '/'.
    res = r(mounts, b"/../../..")
    assert (res.guest_path, res.host_path) == (b"/", b"/")
    assert r(mounts, b"/../guest/file").host_path == host + b"/file"
    # Out of the mount through its root, lexically on the guest path: /guest/.. is /.
    res = r(mounts, b"/guest/../etc/passwd")
    assert res.host_path == b"/etc/passwd"
    res = r(mounts, b"..", cwd=b"/guest")
    assert (res.guest_path, res.host_path) == (b"/", b"/")
    res = r(mounts, b"../..", cwd=b"/guest/dir/sub")
    assert res.guest_path == b"/guest" and res.host_path == host


def test_dotdot_after_symlink_is_physical(tree):
    mounts, host = tree
    # dirlink -> dir, and 'dir/sub/..' is dir: '..' applies to the resolved directory.
    res = r(mounts, b"/guest/dirlink/sub/../file")
    assert res.guest_path == b"/guest/dir/file"
    # abs -> /guest/dir; abs/.. is /guest, not the directory holding 'abs' textually.
    assert r(mounts, b"/guest/abs/..").guest_path == b"/guest"
    # dir/up -> '..'
    assert r(mounts, b"/guest/dir/up/file").host_path == host + b"/file"


def test_dotdot_through_missing_or_file(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"/guest/missing/..") == errno.ENOENT
    assert errno_of(mounts, b"/guest/file/..") == errno.ENOTDIR
    assert errno_of(mounts, b"/guest/file/.") == errno.ENOTDIR


# --- symlinks ---------------------------------------------------------------------------

def test_relative_symlink(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/rel")
    assert res.guest_path == b"/guest/dir/file" and res.host_path == host + b"/dir/file"
    assert res.exists


def test_absolute_symlink_is_guest_absolute(tree):
    mounts, host = tree
    # 'abs' -> /guest/dir; /guest only exists in the guest namespace.
    res = r(mounts, b"/guest/abs/file")
    assert res.guest_path == b"/guest/dir/file" and res.host_path == host + b"/dir/file"
    res = r(mounts, b"abs", cwd=b"/guest")
    assert res.guest_path == b"/guest/dir" and res.host_path == host + b"/dir"


def test_symlink_chain(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/chain1/sub/deep")
    assert res.host_path == host + b"/dir/sub/deep"
    assert r(mounts, b"/guest/chain1").guest_path == b"/guest/dir"


def test_symlink_to_other_mount(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "target").write_bytes(b"")
    os.symlink("/mnt/b/target", tmp_path / "a" / "link")
    mounts = MountTable()
    mounts.add(b"/mnt/a", os.fsencode(tmp_path / "a"))
    mounts.add(b"/mnt/b", os.fsencode(tmp_path / "b"))
    res = r(mounts, b"/mnt/a/link")
    assert res.guest_path == b"/mnt/b/target"
    assert res.host_path == os.fsencode(tmp_path / "b" / "target")
    assert res.mount.guest_path == b"/mnt/b"
    # /mnt need not exist on the host: it only leads to mount points.
    assert r(mounts, b"/mnt/a/../b/target").host_path == res.host_path
    assert errno_of(mounts, b"/mnt/c/x") == errno.ENOENT


def test_follow_last_false_returns_link(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/rel", follow_last=False)
    assert res.guest_path == b"/guest/rel" and res.host_path == host + b"/rel"
    assert res.exists and res.st is not None and os.path.islink(res.host_path)
    # A dangling link still exists as a link.
    res = r(mounts, b"/guest/dangling", follow_last=False)
    assert res.exists and res.host_path == host + b"/dangling"
    # Intermediate links are always followed.
    res = r(mounts, b"/guest/dirlink/file", follow_last=False)
    assert res.host_path == host + b"/dir/file"


def test_dangling_symlink_followed(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/dangling")
    assert not res.exists and res.guest_path == b"/guest/missing"
    assert res.host_path == host + b"/missing"
    assert errno_of(mounts, b"/guest/dangling/x") == errno.ENOENT


def test_eloop(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"/guest/loopa") == errno.ELOOP
    assert errno_of(mounts, b"/guest/selfloop/x") == errno.ELOOP
    # Not followed: no loop.
    assert r(mounts, b"/guest/loopa", follow_last=False).exists


def test_symlink_limit_is_40(tmp_path):
    # link0 -> link1 -> ... -> linkN -> file: N+1 links followed.
    (tmp_path / "file").write_bytes(b"")
    for n in (MAXSYMLINKS, MAXSYMLINKS + 1):
        d = tmp_path / ("n%d" % n)
        d.mkdir()
        (d / "file").write_bytes(b"")
        for i in range(n):
            os.symlink("link%d" % (i + 1) if i + 1 < n else "file", d / ("link%d" % i))
    mounts = MountTable()
    mounts.add(b"/g", os.fsencode(tmp_path))
    assert r(mounts, b"/g/n%d/link0" % MAXSYMLINKS).exists
    assert errno_of(mounts, b"/g/n%d/link0" % (MAXSYMLINKS + 1)) == errno.ELOOP


def test_empty_symlink_enoent(tree, monkeypatch):
    # Linux will not create an empty symlink, but other file systems may hold one.
    mounts, host = tree
    real = os.readlink
    monkeypatch.setattr(os, "readlink",
                        lambda p: b"" if p == host + b"/filelink" else real(p))
    assert errno_of(mounts, b"/guest/filelink") == errno.ENOENT


# --- errors -----------------------------------------------------------------------------

def test_empty_path_enoent(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"") == errno.ENOENT


def test_enoent_intermediate(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"/guest/nope/file") == errno.ENOENT
    assert errno_of(mounts, b"nope/x", cwd=b"/guest") == errno.ENOENT


def test_enotdir(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"/guest/file/x") == errno.ENOTDIR
    assert errno_of(mounts, b"/guest/filelink/x") == errno.ENOTDIR
    # Trailing slash on an existing non-directory.
    assert errno_of(mounts, b"/guest/file/") == errno.ENOTDIR
    # ... also through a symlink, even with follow_last False (a slash forces following).
    assert errno_of(mounts, b"/guest/filelink/", follow_last=False) == errno.ENOTDIR
    # A final symlink whose target ends in '/'.
    assert errno_of(mounts, b"/guest/slashlink") == errno.ENOTDIR


def test_trailing_slash_on_dir_and_dirlink(tree):
    mounts, host = tree
    res = r(mounts, b"/guest/dirlink/", follow_last=False)
    assert res.guest_path == b"/guest/dir" and res.trailing_slash and res.exists
    res = r(mounts, b"/guest/slashdangling")
    assert not res.exists and res.trailing_slash and res.host_path == host + b"/newfile"


def test_enametoolong(tree):
    mounts, _ = tree
    assert errno_of(mounts, b"/" + b"a" * (PATH_MAX - 1)) == errno.ENAMETOOLONG
    # PATH_MAX - 1 bytes is allowed (ENOENT here, not ENAMETOOLONG).
    assert errno_of(mounts, b"/guest/nope/" + b"a" * (PATH_MAX - 1 - 12)) == errno.ENOENT
    assert errno_of(mounts, b"/guest/" + b"b" * (NAME_MAX + 1)) == errno.ENAMETOOLONG
    assert errno_of(mounts, b"/guest/dir/" + b"b" * (NAME_MAX + 1) + b"/x") == errno.ENAMETOOLONG
    res = r(mounts, b"/guest/" + b"b" * NAME_MAX)
    assert not res.exists
    # The walk fails on the missing directory before it looks at the long name.
    assert errno_of(mounts, b"/guest/nope/" + b"b" * (NAME_MAX + 1)) == errno.ENOENT


# --- /proc ------------------------------------------------------------------------------

def test_proc_self_maps_to_tgid():
    mounts = MountTable()
    res = r(mounts, b"/proc/self/status", tgid=TGID, tid=TID)
    assert res.host_path == b"/proc/%d/status" % TGID
    assert res.guest_path == b"/proc/%d/status" % TGID
    assert res.exists and not res.is_magic
    res = r(mounts, b"/proc/self")
    assert res.host_path == b"/proc/%d" % TGID and not res.is_magic


def test_proc_self_uses_given_tgid_not_sentry():
    # The Sentry's own /proc/self would be os.getpid(); the child's is what counts.
    parent = os.getppid()
    mounts = MountTable()
    res = r(mounts, b"/proc/self/stat", tgid=parent, tid=parent)
    assert res.host_path == b"/proc/%d/stat" % parent


def test_proc_thread_self():
    mounts = MountTable()
    res = r(mounts, b"/proc/thread-self/comm")
    assert res.host_path == b"/proc/%d/task/%d/comm" % (TGID, TID)
    assert res.exists


def test_proc_self_reached_by_resolution(tmp_path):
    os.symlink("/proc/self", tmp_path / "me")
    mounts = MountTable()
    mounts.add(b"/g", os.fsencode(tmp_path))
    assert r(mounts, b"/g/me/status").host_path == b"/proc/%d/status" % TGID
    assert r(mounts, b"/proc/1/../self/status").host_path == b"/proc/%d/status" % TGID
    assert r(mounts, b"self/status", cwd=b"/proc").host_path == b"/proc/%d/status" % TGID
    # /proc/mounts -> self/mounts.
    assert r(mounts, b"/proc/mounts").host_path == b"/proc/%d/mounts" % TGID


def test_proc_self_fd_is_magic():
    mounts = MountTable()
    res = r(mounts, b"/proc/self/fd/0")
    assert res.is_magic and res.exists
    assert res.host_path == b"/proc/%d/fd/0" % TGID
    assert res.guest_path == b"/proc/%d/fd/0" % TGID
    res = r(mounts, b"/proc/self/fd/0", follow_last=False)
    assert res.is_magic and res.host_path == b"/proc/%d/fd/0" % TGID


def test_magic_link_text_is_not_followed(tmp_path):
    # fd whose link text is not a path: resolution must not readlink it.
    rfd, wfd = os.pipe()
    try:
        mounts = MountTable()
        res = r(mounts, b"/proc/self/fd/%d" % rfd)
        assert res.is_magic and res.host_path == b"/proc/%d/fd/%d" % (TGID, rfd)
        missing = r(mounts, b"/proc/self/fd/999999")
        assert missing.is_magic and not missing.exists
    finally:
        os.close(rfd)
        os.close(wfd)


def test_magic_link_remaining_components_unchanged(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        mounts = MountTable()
        res = r(mounts, b"/proc/self/fd/%d/./f" % fd)
        assert res.is_magic and res.exists
        assert res.host_path == b"/proc/%d/fd/%d/./f" % (TGID, fd)
        res = r(mounts, b"/proc/thread-self/cwd/x/../y")
        assert res.is_magic
        assert res.host_path == b"/proc/%d/task/%d/cwd/x/../y" % (TGID, TID)
    finally:
        os.close(fd)


def test_magic_link_reached_through_symlink(tmp_path):
    os.symlink("/proc/self/cwd", tmp_path / "here")
    mounts = MountTable()
    mounts.add(b"/g", os.fsencode(tmp_path))
    res = r(mounts, b"/g/here")
    assert res.is_magic and res.host_path == b"/proc/%d/cwd" % TGID


def test_unfollowed_proc_self_is_left_to_the_child():
    mounts = MountTable()
    res = r(mounts, b"/proc/self", follow_last=False)
    assert res.is_magic and res.host_path == b"/proc/self"


@pytest.mark.parametrize("path,magic", [
    (b"/proc/1/fd/3", True),
    (b"/proc/1/cwd", True),
    (b"/proc/1/root", True),
    (b"/proc/1/exe", True),
    (b"/proc/1/map_files/400000-401000", True),
    (b"/proc/1/ns/net", True),
    (b"/proc/1/task/2/fd/3", True),
    (b"/proc/1/task/2/cwd", True),
    (b"/proc/1/task/2/exe", True),
    (b"/proc/1/fd", False),
    (b"/proc/1/fdinfo/3", False),
    (b"/proc/1/status", False),
    (b"/proc/1/task/2", False),
    (b"/proc/1/task/2/fd", False),
    (b"/proc/self/fd/3", False),      # /proc/self is resolved first
    (b"/proc/self", False),
    (b"/proc/cwd", False),
    (b"/tmp/1/fd/3", False),
])
def test_is_magic_link(path, magic):
    assert is_magic_link(path) is magic


# --- against the host kernel -----------------------------------------------------------

DIFF_PATHS = [b"dir", b"dir/", b"dir/file", b"dir/file/", b"dir/file/x", b"rel", b"rel/",
              b"chain1/sub/deep", b"dangling", b"dangling/", b"dangling/x", b"loopa",
              b"loopa/x", b"selfloop", b"dir/up/file", b"dirlink/../file", b"filelink",
              b"filelink/", b"slashlink", b"nope", b"nope/", b"nope/x", b"file/..",
              b"dir/sub/../../file", b"dir/" + b"n" * 256, b"./dir/./sub/.", b"up/../.."]


@pytest.mark.parametrize("follow", [True, False])
@pytest.mark.parametrize("rel", DIFF_PATHS)
def test_matches_host_walk(tree, rel, follow):
    """With guest == host (root mount only), the walk agrees with the host kernel."""
    _, host = tree
    mounts = MountTable()
    path = host + b"/" + rel
    try:
        expect = os.stat(path) if follow else os.lstat(path)
    except OSError as e:
        expect = e.errno
    try:
        res = r(mounts, path, follow_last=follow)
    except OSError as e:
        assert e.errno == expect
        return
    if res.exists:
        st = os.lstat(res.host_path)
        assert not isinstance(expect, int)
        assert (st.st_dev, st.st_ino) == (expect.st_dev, expect.st_ino)
    else:
        assert expect == errno.ENOENT


def test_chroot_root_starts_absolute_paths_and_stops_dotdot(tree):
    mounts, _ = tree
    jail = b"/guest/dir"
    # Absolute paths start at the root; '..' never climbs above it.
    assert r(mounts, b"/file", root=jail).guest_path == b"/guest/dir/file"
    assert r(mounts, b"/../../file", root=jail).guest_path == b"/guest/dir/file"
    assert r(mounts, b"sub/../../../file", cwd=jail, root=jail).guest_path == b"/guest/dir/file"
    # The jail's own name from outside does not exist inside it.
    with pytest.raises(OSError) as e:
        r(mounts, b"/guest/dir/file", root=jail)
    assert e.value.errno == errno.ENOENT
    # Without a root, the same walk reaches the real tree.
    assert r(mounts, b"/guest/dir/file").exists
