"""Reads and writes against Linux: regular files (io_uring and read(2)
sharing one file position), streams that must wait for readiness, registered
files and buffers, and a registered eventfd."""

from harness import same_as_native


def test_regular_file_io_matches_linux_and_read2(tmp_path):
    out = same_as_native("rw_file", tmp_path / "sandbox.dat",
                         native_args=[tmp_path / "native.dat"])
    assert "pread 2: 4096 match=1" in out                # io_uring WRITE seen by pread(2)
    assert "readv: 12288 match=1" in out
    assert "lseek(SEEK_CUR) after: 200" in out           # offset -1 uses and moves f_pos
    assert "pread sees: POSITION" in out
    assert "read into a bad pointer: -14" in out
    assert "read on a bad fd: -9" in out
    assert "readv with too many iovecs: -22" in out
    assert "read with unknown rw flags: -95" in out
    assert "failed link cqe user_data=711 res=-125" in out
    assert "read(2) from a bad pointer: -1 EFAULT" in out
    assert "io_uring sees write(2): 4 SYNC" in out


def test_streams_wait_for_readiness_like_linux():
    out = same_as_native("streams")
    assert "pipe read: user_data=1 res=11 data=from-thread" in out
    assert "read at EOF: user_data=3 res=0" in out
    assert "nowait read: user_data=4 res=-11" in out
    assert "eventfd value: 42" in out
    assert "socket read: user_data=7 res=11 data=socket-data" in out


def test_fixed_files_and_buffers_match_linux(tmp_path):
    out = same_as_native("fixed_rsrc", tmp_path / "s.dat", native_args=[tmp_path / "n.dat"])
    assert "register 3 files: 0" in out
    assert "register again: -16" in out
    assert "register a read-only buffer: -14" in out
    assert "write_fixed via fixed file 0: 8192" in out
    assert "read_fixed via fixed file 2: 4000 match=1" in out
    assert "read_fixed past the buffer end: -14" in out
    assert "fixed file slot 1 is empty: -9" in out
    assert "fixed file after close(2): 10" in out
    assert "unregister buffers again: -6" in out


def test_registered_eventfd_matches_linux():
    out = same_as_native("eventfd_notify")
    assert "register a pipe: -22" in out
    assert "after a nop, eventfd signalled: 1" in out
    assert "eventfd readable after async completion: 1" in out
    assert "disabled: signalled=0" in out
    assert "after unregister: signalled=0" in out
