"""fio's io_uring engine as a real client: random reads and writes with
verification, served entirely by the Sentry."""
import os
import shutil
import subprocess
import sys

import pytest

from harness import REPO

FIO = shutil.which("fio")


def _fio(tmp_path, rw, verify, extra=()):
    trace = tmp_path / "trace"
    cmd = [sys.executable, "-m", "pysentry", "run", "--trace-uring", "--trace-file", str(trace),
           "--", FIO, "--name=pysentry", "--ioengine=io_uring",
           "--filename=%s" % (tmp_path / "fio.dat"), "--size=4M", "--bs=4k",
           "--rw=%s" % rw, "--verify=%s" % verify, "--iodepth=16", "--output-format=json",
           *extra]
    # fio writes its verify state (<job>-<n>-verify.state) into its cwd: keep
    # it in the test's directory, not the checkout.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=REPO))
    return proc, trace.read_text()


@pytest.mark.parametrize("rw,verify", [("randwrite", "crc32c"), ("randrw", "md5"),
                                       ("write", "sha256")])
def test_fio_io_uring_engine_verifies_cleanly(tmp_path, rw, verify):
    assert FIO, "fio is not installed (make deps installs it)"
    proc, trace = _fio(tmp_path, rw, verify)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    job = json.loads(proc.stdout[proc.stdout.index("{"):])["jobs"][0]
    assert job["error"] == 0
    assert job["read"]["io_bytes"] > 0          # the verify pass read everything back
    assert "verify" not in proc.stderr.lower() or "bad" not in proc.stderr.lower()
    sqes = trace.count(" SQE ")
    assert sqes >= 1024, "fio's I/O did not go through the Sentry's io_uring"
