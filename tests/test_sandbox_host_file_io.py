"""Synchronous reads and writes on regular files run on the host, in the
program (sentry/syscalls/file_io.py): results that depend on who makes the
call -- RLIMIT_FSIZE and SIGXFSZ, set-user-ID clearing without CAP_FSETID,
O_DIRECT buffer alignment, /proc/self/io accounting -- are the program's,
as in Linux, and read(2), lseek(2) and io_uring READ/WRITE at offset -1
move one file position.  Against Linux with the C trap step on and off,
the Python trap path, and the data plane off."""
import pytest

from harness import check, run_native, run_sandbox

MODES = [({}, ()), ({"PYSENTRY_TRAP_STEP": "0"}, ()),
         ({"PYSENTRY_PY_TRAP": "1"}, ("--cpu-policy", "none")),
         ({"PYSENTRY_DATAPLANE": "0"}, ())]


def _runs(tmp_path, env=None, options=()):
    (tmp_path / "native").mkdir()
    (tmp_path / "sandbox").mkdir()
    native = check(run_native("host_file_io", tmp_path / "native"))
    sandboxed = check(run_sandbox("host_file_io", tmp_path / "sandbox", env=env,
                                  options=options))
    return native, sandboxed


@pytest.mark.parametrize("env,options", MODES,
                         ids=["step", "no-step", "python-trap", "no-dataplane"])
def test_host_runs_regular_file_io_as_linux(tmp_path, env, options):
    native, sandboxed = _runs(tmp_path, env, options)
    assert sandboxed == native
    # What the host does for the program, not for the Sentry:
    assert "pwrite across the limit: 5904" in native
    assert "SIGXFSZ in all: 2, size 10000" in native
    assert "pwrite past the limit, SIGXFSZ ignored: -1 EFBIG" in native
    assert "file reads returned 4000, counted in rchar: 4000" in native
    assert native.count("mode after it: 755") == 2
    assert "pread into a buffer unmapped from 4096: 3996" in native
    assert "file: abcdefghijklmnoXYZztuvwxyz" in native
    assert "pread ring fd: -1 ESPIPE" in native
    assert "fsync ring fd: -1 EINVAL" in native
    if "open O_DIRECT" not in native:
        # A filesystem with direct I/O (ext4, xfs, btrfs) checks alignment.
        assert "O_DIRECT pread, unaligned buffer: -1 EINVAL" in native


def test_serving_files_is_the_sentrys_call(tmp_path):
    """PYSENTRY_SERVE_FILES=1 (tools/bench.py's served row) really makes the
    Sentry serve them: the program's /proc/self/io then does not count the
    reads, and the Sentry's RLIMIT_FSIZE applies -- why it is off."""
    native, served = _runs(tmp_path, {"PYSENTRY_SERVE_FILES": "1"})
    assert "counted in rchar: 4000" in native
    assert "counted in rchar: 4000" not in served
    assert "pwrite past the limit, SIGXFSZ ignored: 10" in served
    # The rest is the same.
    assert "file: abcdefghijklmnoXYZztuvwxyz" in served
    assert "pread ring fd: -1 ESPIPE" in served
