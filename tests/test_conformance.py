"""The liburing conformance ratchet, visible to pytest.

Runs `tools/conformance.py check`: Debian's liburing test programs listed in
tests/conformance/passing.txt must strictly pass inside the real sandbox.
The full native-vs-sandbox table is `make conformance` (docs/conformance.md).
"""
import os
import subprocess
import sys

from harness import REPO


def test_liburing_ratchet_still_passes():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "tools", "conformance.py"),
                           "check", "--timeout", "60"],
                          capture_output=True, text=True, cwd=REPO, timeout=1800)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert tail.endswith(" 0 failed"), tail
