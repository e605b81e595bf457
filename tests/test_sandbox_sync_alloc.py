"""SYNC_FILE_RANGE, FALLOCATE and FADVISE against Linux."""
from harness import same_as_native


def test_sync_file_range_fallocate_fadvise_match_linux(tmp_path):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    lines = same_as_native("sync_alloc", tmp_path / "sandbox",
                           native_args=[tmp_path / "native"]).splitlines()
    assert "fallocate: user_data=3 res=0" in lines and "size: 65536" in lines
    assert "fallocate on a pipe: user_data=3 res=-29" in lines        # ESPIPE
    assert "fallocate past RLIMIT_FSIZE: user_data=3 res=-27" in lines   # the child's limit
    assert "sync_file_range bad flags: user_data=3 res=-22" in lines
    assert "fadvise bad advice: user_data=3 res=-22" in lines
