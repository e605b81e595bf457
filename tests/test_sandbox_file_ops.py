"""SYNC_FILE_RANGE, FALLOCATE, FADVISE, FTRUNCATE, SPLICE and TEE against Linux."""
from harness import same_as_native


def test_file_ops_match_linux(tmp_path):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    lines = same_as_native("file_ops", tmp_path / "sandbox",
                           native_args=[tmp_path / "native"]).splitlines()
    # sync_file_range, fallocate, fadvise
    assert "sync_file_range: user_data=7 res=0" in lines
    assert "sync_file_range reserved addr: user_data=7 res=-22" in lines
    assert "after punch: byte 0=0 byte 4096=a" in lines
    assert "fallocate bad mode: user_data=7 res=-95" in lines          # EOPNOTSUPP
    assert "fallocate read-only fd: user_data=7 res=-9" in lines       # EBADF
    assert "sync_file_range ring fd: user_data=7 res=-29" in lines     # ESPIPE
    assert "fallocate ring fd: user_data=7 res=-19" in lines           # ENODEV
    assert "fadvise ring fd: user_data=7 res=0" in lines
    # ftruncate
    i = lines.index("ftruncate grow: user_data=7 res=0")
    assert lines[i + 1] == "size: 20000"
    i = lines.index("ftruncate shrink: user_data=7 res=0")
    assert lines[i + 1] == "size: 100"
    for case in ("pipe", "read-only fd", "negative", "ring fd", "reserved len",
                 "reserved rw_flags", "reserved addr3"):
        assert "ftruncate %s: user_data=7 res=-22" % case in lines
    assert "ftruncate bad fd: user_data=7 res=-9" in lines
    # the child's RLIMIT_FSIZE, checked after the file and mode checks
    assert "ftruncate past RLIMIT_FSIZE: user_data=7 res=-27" in lines      # EFBIG
    assert "ftruncate read-only past RLIMIT_FSIZE: user_data=7 res=-22" in lines
    assert "fallocate zero range past RLIMIT_FSIZE: user_data=7 res=-27" in lines
    assert "fallocate zero range keep size past RLIMIT_FSIZE: user_data=7 res=0" in lines
    assert "fallocate read-only past RLIMIT_FSIZE: user_data=7 res=-9" in lines
    assert "fallocate pipe past RLIMIT_FSIZE: user_data=7 res=-29" in lines
    # splice with and without offsets; the input as a registered file
    assert "splice file+off -> pipe: user_data=7 res=6" in lines
    assert "src pos: 0" in lines and "src pos: 18" in lines
    assert 'dst: "splice" size=106 pos=0' in lines
    assert 'dst: "world" size=106 pos=7' in lines
    assert "splice fixed in: user_data=7 res=5" in lines
    assert "splice empty fixed slot: user_data=7 res=-9" in lines
    # tee copies without consuming
    assert 'tee copy: 7 bytes "teedata"' in lines and 'tee source: 7 bytes "teedata"' in lines
    # errors
    assert "splice bad fd_in: user_data=7 res=-9" in lines
    assert "splice bad fd_out: user_data=7 res=-9" in lines
    assert "splice file -> file: user_data=7 res=-22" in lines
    assert "splice offset on a pipe: user_data=7 res=-29" in lines
    assert "splice unknown flags: user_data=7 res=-22" in lines
    assert "tee reserved off: user_data=7 res=-22" in lines
    assert "splice empty pipe NONBLOCK: user_data=7 res=-11" in lines
    # a short splice fails its link
    assert "short splice: user_data=1 res=8" in lines
    assert "linked nop: user_data=2 res=-125" in lines
    # waiting for the input, the output, a socket
    for what, res in (("splice from empty pipe", 4), ("splice into full pipe", 5),
                      ("tee from empty pipe", 5), ("splice from empty socket", 4)):
        i = lines.index("%s: still waiting" % what)
        assert lines[i + 1].startswith("%s: user_data=" % what)
        assert lines[i + 1].endswith(" res=%d" % res)
    assert 'socket got: "sock"' in lines
    assert "splice from pipe at EOF: user_data=7 res=0" in lines
