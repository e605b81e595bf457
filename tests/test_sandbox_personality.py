"""Registered personalities and IORING_FEAT_CUR_PERSONALITY against Linux
(tests/c/personality.c, run as root natively and in the sandbox): requests
are checked with the submitter's current credentials or a registered set."""
import os

from harness import same_as_native


def test_personalities_and_current_credentials_match_linux(tmp_path):
    for side in ("native", "sandbox"):
        (tmp_path / side).mkdir()
        os.chmod(tmp_path / side, 0o777)
    os.chmod(tmp_path, 0o755)
    out = same_as_native("personality", tmp_path / "sandbox",
                         native_args=[tmp_path / "native"])
    assert out.splitlines() == [
        "FEAT_CUR_PERSONALITY: 1",
        "ids: 1 2",
        "unregister 2: 0",
        "unregister again: -22",
        "next id is cyclic: 3",
        "register with an argument: -22",
        "open, unknown personality: -22",
        "as nobody: open secret: -13",
        "as nobody: open secret with root personality: fd",
        "as nobody: open direct: -13",
        "as nobody: open direct with root personality: 0",
        "as nobody: statx in private dir: -13",
        "as nobody: statx in private dir with root personality: 0",
        "as nobody: mkdir in private dir: -13",
        "as nobody: mkdir in private dir with root personality: 0",
        "as nobody: unlink in private dir: -13",
        "as root: open secret: fd",
        "as root: open secret with nobody personality: -13",
        "as root: unlink in private dir with nobody personality: -13",
        "as root: unlink in private dir: 0",
    ]
