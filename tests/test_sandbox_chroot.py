"""chroot(2) in the sandbox against Linux (tests/c/chroot.c): the Sentry's
own lookups for io_uring ops honour the program's root, so a path outside
the jail cannot be reached through the Sentry (CVE-2020-29373's shape)."""
import os

from harness import same_as_native


def test_chroot_confines_sync_and_io_uring_lookups_like_linux(tmp_path):
    for side in ("native", "sandbox"):
        os.mkdir(tmp_path / side)
    out = same_as_native("chroot", tmp_path / "sandbox", native_args=[tmp_path / "native"])
    assert out.splitlines() == [
        "open /f: ok",
        "open ../../../f: ok",
        "open /etc/passwd: -2",
        "OPENAT /f: ok",
        "OPENAT ../../f: ok",
        "OPENAT /etc/passwd: -2",
        "STATX /f: 0",
        "STATX /etc/passwd: -2",
        "SENDMSG /sock: 1",
        "SENDMSG ../../sock (async): 1",
        "SENDMSG <host path of sock> (async): -2",
    ]
