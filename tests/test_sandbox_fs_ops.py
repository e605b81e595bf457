"""RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT, STATX and the xattr ops
against Linux (tests/c/fs_ops.c run natively and in the sandbox)."""
import pytest

from harness import same_as_native


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    """One native and one sandboxed run (each in a fresh directory), shared
    by the tests below: their outputs must be identical."""
    base = tmp_path_factory.mktemp("fs_ops")
    (base / "native").mkdir()
    (base / "sandbox").mkdir()
    return same_as_native("fs_ops", base / "sandbox",
                          native_args=[base / "native"]).splitlines()


def _after(lines, line, n=1):
    i = lines.index(line)
    return lines[i + 1:i + 1 + n]


def test_path_ops_match_linux(lines):

    # renameat2 and its flags
    assert _after(lines, "rename a b: user_data=7 res=0", 2) == [
        "  a: No such file or directory", '  b: "hello"']
    assert "rename missing: user_data=7 res=-2" in lines
    assert "rename NOREPLACE onto existing: user_data=7 res=-17" in lines
    assert _after(lines, "rename EXCHANGE: user_data=7 res=0", 2) == [
        '  b: "world"', '  c: "hello"']
    assert "rename EXCHANGE missing target: user_data=7 res=-2" in lines
    assert "rename EXCHANGE|NOREPLACE: user_data=7 res=-22" in lines
    assert "rename unknown flag missing source: user_data=7 res=-22" in lines
    assert _after(lines, "rename across dirfds: user_data=7 res=0") == ['  d2/g: "in d1"']
    assert "rename bad newdirfd: user_data=7 res=-9" in lines
    assert "rename olddirfd not a dir: user_data=7 res=-20" in lines
    assert "rename dir onto non-empty dir: user_data=7 res=-39" in lines
    assert "rename file onto dir: user_data=7 res=-21" in lines
    assert "rename dir into itself: user_data=7 res=-22" in lines
    assert _after(lines, "rename symlink: user_data=7 res=0") == [
        "  lnk2: symlink mode=0777 nlink=1"]
    assert any(line.startswith("rename WHITEOUT: user_data=7 res=") for line in lines)
    assert "rename reserved buf_index: user_data=7 res=-22" in lines
    assert "rename fixed file: user_data=7 res=-9" in lines
    assert "rename bad newpath pointer: user_data=7 res=-14" in lines
    assert "rename empty oldpath: user_data=7 res=-2" in lines
    assert _after(lines, "rename via /proc/self/fd: user_data=7 res=0") == [
        "  m9: dir mode=0700 nlink=0"]

    # unlinkat, with and without AT_REMOVEDIR
    assert "unlink missing: user_data=7 res=-2" in lines
    assert "unlink dir: user_data=7 res=-21" in lines                 # EISDIR
    assert "rmdir file: user_data=7 res=-20" in lines                 # ENOTDIR
    assert "unlink under a file: user_data=7 res=-20" in lines
    assert "rmdir non-empty: user_data=7 res=-39" in lines            # ENOTEMPTY
    assert "rmdir dot: user_data=7 res=-22" in lines
    assert "rmdir root: user_data=7 res=-16" in lines
    assert _after(lines, "rmdir empty with trailing slash: user_data=7 res=0") == [
        "  ud: No such file or directory"]
    assert "rmdir symlink to dir with slash: user_data=7 res=-20" in lines
    assert _after(lines, "unlink symlink: user_data=7 res=0", 2) == [
        "  lfile: No such file or directory", "  uf: file mode=0644 nlink=1"]
    assert "unlink unknown flag: user_data=7 res=-22" in lines
    assert "unlink reserved off: user_data=7 res=-22" in lines
    assert "unlink bad pointer: user_data=7 res=-14" in lines

    # mkdirat applies the program's umask
    assert _after(lines, "mkdir umask 022: user_data=7 res=0") == ["  m1: dir mode=0755 nlink=0"]
    assert _after(lines, "mkdir umask 077: user_data=7 res=0") == ["  m2: dir mode=0700 nlink=0"]
    assert _after(lines, "mkdir umask 0 sticky: user_data=7 res=0") == [
        "  m3: dir mode=1777 nlink=0"]
    assert "mkdir existing: user_data=7 res=-17" in lines
    assert "mkdir missing parent: user_data=7 res=-2" in lines
    assert "mkdir onto dangling symlink: user_data=7 res=-17" in lines
    assert _after(lines, "mkdir via dirfd: user_data=7 res=0") == [
        "  m1/sub: dir mode=0750 nlink=0"]
    assert _after(lines, "mkdir via /proc/self/cwd: user_data=7 res=0") == [
        "  m8: dir mode=0700 nlink=0"]
    assert "mkdir reserved rw_flags: user_data=7 res=-22" in lines

    # symlinkat
    assert _after(lines, "symlink: user_data=7 res=0") == ['  s1 -> "some/target text"']
    assert "symlink existing: user_data=7 res=-17" in lines
    assert "symlink empty target: user_data=7 res=-2" in lines
    assert "symlink reserved len: user_data=7 res=-22" in lines

    # linkat
    assert _after(lines, "link: user_data=7 res=0", 2) == [
        "  h1: file mode=0644 nlink=2", '  h2: "hard"']
    assert "link existing: user_data=7 res=-17" in lines
    assert "link dir: user_data=7 res=-1" in lines                    # EPERM
    assert "link missing with bad newdirfd: user_data=7 res=-2" in lines
    assert "link missing FOLLOW with bad newdirfd: user_data=7 res=-2" in lines
    assert "link bad newdirfd: user_data=7 res=-9" in lines
    assert "rename missing with bad newdirfd: user_data=7 res=-9" in lines
    assert _after(lines, "link symlink: user_data=7 res=0") == [
        "  hs-nofollow: symlink mode=0777 nlink=2"]
    assert _after(lines, "link symlink FOLLOW: user_data=7 res=0") == [
        "  hs-follow: file mode=0644 nlink=4"]
    assert "link AT_EMPTY_PATH: user_data=7 res=0" in lines
    assert "link empty path without AT_EMPTY_PATH: user_data=7 res=-2" in lines
    assert "link AT_EMPTY_PATH ring fd: user_data=7 res=-18" in lines       # EXDEV
    assert _after(lines, "link O_TMPFILE via /proc/self/fd: user_data=7 res=0") == [
        '  from-tmpfile: "anon"']
    assert "link unknown flag: user_data=7 res=-22" in lines


def test_statx_matches_linux(lines):
    # Each successful statx is compared whole with statx(2) and field by field
    # with stat(2) of the same file.
    for tag, line, who in (("statx file", "statx file", "st"),
                           ("through symlink", "statx through symlink", "st-link"),
                           ("nofollow", "statx symlink NOFOLLOW", "st-link nofollow"),
                           ("fd", "statx AT_EMPTY_PATH fd", "fd"),
                           ("cwd", "statx AT_EMPTY_PATH cwd", "cwd"),
                           ("dirfd", "statx via dirfd", "m1"),
                           ("exe", "statx /proc/self/exe", "exe")):
        (detail,) = _after(lines, line + ": user_data=7 res=0")
        assert detail.startswith("  %s: same as statx(2)=1 mode=" % who), tag
        assert "ino=stat:1 dev=stat:1 mtime=stat:1 blocks=stat:1 basic=1" in detail, tag
    assert "mode=100640 size=1234 nlink=1" in _after(lines, "statx file: user_data=7 res=0")[0]
    assert "mode=120777 size=2" in _after(lines, "statx symlink NOFOLLOW: user_data=7 res=0")[0]
    assert "statx missing: user_data=7 res=-2" in lines
    assert "statx file trailing slash: user_data=7 res=-20" in lines
    assert "statx bad buffer: user_data=7 res=-14" in lines
    assert "statx bad buffer missing file: user_data=7 res=-2" in lines
    assert "statx empty path: user_data=7 res=-2" in lines
    assert "statx reserved mask: user_data=7 res=-22" in lines
    assert "statx both sync types: user_data=7 res=-22" in lines
    assert "statx unknown flag: user_data=7 res=-22" in lines
    assert "statx bad dirfd: user_data=7 res=-9" in lines
    assert "statx AT_EMPTY_PATH bad fd: user_data=7 res=-9" in lines
    assert "statx fixed file: user_data=7 res=-9" in lines


def test_xattr_ops_match_linux(lines):
    assert "fsetxattr: user_data=7 res=0" in lines                    # user.* xattrs work here
    assert _after(lines, "fgetxattr: user_data=7 res=2") == ['  value "v1"']
    assert "fgetxattr size 0: user_data=7 res=2" in lines
    assert "fgetxattr small buffer: user_data=7 res=-34" in lines     # ERANGE
    assert "fgetxattr missing: user_data=7 res=-61" in lines          # ENODATA
    assert "fsetxattr CREATE existing: user_data=7 res=-17" in lines
    assert "fsetxattr REPLACE missing: user_data=7 res=-61" in lines
    assert _after(lines, "fsetxattr REPLACE: user_data=7 res=0") == ['  fgetxattr(2): 6 "longer"']
    assert "fgetxattr empty value: user_data=7 res=0" in lines
    assert "fsetxattr unknown flag: user_data=7 res=-22" in lines
    assert "fsetxattr empty name: user_data=7 res=-34" in lines
    assert "fsetxattr 255-byte name: user_data=7 res=0" in lines
    assert "fsetxattr 256-byte name: user_data=7 res=-34" in lines
    assert "fsetxattr value over XATTR_SIZE_MAX: user_data=7 res=-7" in lines   # E2BIG
    assert "fsetxattr bad value pointer: user_data=7 res=-14" in lines
    assert "fsetxattr unknown namespace: user_data=7 res=-95" in lines
    assert "fgetxattr bad value pointer: user_data=7 res=-14" in lines
    assert "fgetxattr flags: user_data=7 res=-22" in lines
    assert "fgetxattr bad fd: user_data=7 res=-9" in lines
    assert "fgetxattr fixed file: user_data=7 res=-9" in lines
    assert "fgetxattr buffer over XATTR_SIZE_MAX: user_data=7 res=6" in lines
    assert "fgetxattr ring fd: user_data=7 res=-61" in lines
    assert "fsetxattr ring fd: user_data=7 res=-1" in lines
    assert "fgetxattr ring fd trusted: user_data=7 res=-95" in lines
    assert "setxattr through symlink: user_data=7 res=0" in lines
    assert _after(lines, "getxattr: user_data=7 res=7", 2) == [
        '  value "value-b"', '  getxattr(2): 7 "value-b"']
    assert "getxattr small buffer: user_data=7 res=-34" in lines
    assert "getxattr missing file: user_data=7 res=-2" in lines
    assert "getxattr empty path: user_data=7 res=-2" in lines
    assert "setxattr REPLACE missing: user_data=7 res=-61" in lines
    assert "getxattr ignores fd: user_data=7 res=7" in lines
