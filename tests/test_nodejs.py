"""Node.js as a real client: libuv (1.46, Node 20) uses io_uring for its fs
operations when UV_USE_IO_URING=1 and the ring's feature bits say the kernel
is recent enough (SINGLE_MMAP, NODROP, RSRC_TAGS); it falls back to its
thread pool silently otherwise.  Under pysentry the same script must print
what it prints natively, and the Sentry's trace must show libuv's fs ops
going through io_uring."""
import os
import shutil
import subprocess
import sys

from harness import REPO, check

NODE = shutil.which("node")
SCRIPT = os.path.join(REPO, "tests", "js", "fs_ops.js")


def test_nodejs_fs_goes_through_the_sentrys_io_uring(tmp_path):
    assert NODE, "node is not installed (this machine kind ships Node.js 20)"
    env = dict(os.environ, UV_USE_IO_URING="1")
    native = check(subprocess.run([NODE, SCRIPT, str(tmp_path / "n.txt")], capture_output=True,
                                  text=True, env=env, timeout=60))
    trace = tmp_path / "trace"
    sandboxed = check(subprocess.run(
        [sys.executable, "-m", "pysentry", "run", "--trace-uring", "--trace-file", str(trace),
         "--", NODE, SCRIPT, str(tmp_path / "s.txt")],
        capture_output=True, text=True, env=dict(env, PYTHONPATH=REPO), cwd=REPO, timeout=120))
    assert sandboxed == native == "read: hello from node size: 16\nunlink: null\n"
    ops = {line.split(" SQE ")[1].split("(")[0] for line in trace.read_text().splitlines()
           if " SQE " in line}
    assert {"OPENAT", "WRITEV", "READV", "STATX", "UNLINKAT"} <= ops, ops
