"""OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL and direct descriptors, against Linux.

These ops change the child's fd table, so the Sentry runs them as task work
in the submitting thread (sentry/iouring/taskwork.py); the fd numbers the
child sees must be exactly the ones Linux hands out.
"""
from harness import same_as_native


def test_open_close_and_direct_descriptors_match_linux(tmp_path):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    out = same_as_native("open_close", tmp_path / "sandbox", native_args=[tmp_path / "native"])
    lines = out.splitlines()
    # fds come from the lowest free number, as fd_install() gives them
    assert "lowest free fd: 1" in lines and "next fd: 1" in lines
    assert "openat dirfd: read 11 'hello world'" in lines
    assert "reused number: 1 cloexec=1" in lines
    assert "openat missing: res=-2" in lines
    assert "openat bad pointer: res=-14" in lines
    assert "close ring fd: res=-9" in lines
    assert "create mode: 640" in lines                 # the child's umask 027
    assert "openat2 escape: res=-18" in lines          # RESOLVE_BENEATH -> EXDEV
    assert "chain cqe 2: fd" in lines                  # opened after a timeout, while waiting
    assert "direct open without table: res=-6" in lines
    assert "data 'hello'" in lines
    assert [ln for ln in lines if ln.startswith("direct open alloc:")] == [
        "direct open alloc: res=3", "direct open alloc: res=0", "direct open alloc: res=1",
        "direct open alloc: res=-23", "direct open alloc: res=-23"]
    assert "installed: read 11 'hello world'" in lines
    assert "installed cloexec=0" in lines
    assert "alloc in full range: res=-23" in lines
