"""pysentry's pytest plugin (pysentry/pytest_plugin.py) as a project uses it:
pytest run in a project of its own (tests/sample_project), and test binaries
collected and run under pysentry."""
import os
import subprocess
import sys
from importlib.metadata import entry_points

from harness import REPO

SAMPLE = os.path.join(REPO, "tests", "sample_project")


def _pytest(*args, cwd):
    """pytest in a fresh interpreter, as a project's CI runs it: the plugin
    comes from the installed package's pytest11 entry point (or -p, when
    this checkout is used without being installed)."""
    plugin = [] if any(e.value == "pysentry.pytest_plugin"
                       for e in entry_points(group="pytest11")) else ["-p", "pysentry.pytest_plugin"]
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin,
                           *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONPATH=REPO))


def test_the_sample_project_runs_green():
    proc = _pytest("-q", cwd=SAMPLE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 passed" in proc.stdout, proc.stdout


PROGRAMS = {
    # exits 0 after a NOP went through io_uring
    "t_ok": '#include <liburing.h>\n#include <stdio.h>\nint main(void){struct io_uring r;'
            'struct io_uring_cqe *c; if(io_uring_queue_init(2,&r,0))return 1;'
            'io_uring_prep_nop(io_uring_get_sqe(&r)); io_uring_submit_and_wait(&r,1);'
            'io_uring_peek_cqe(&r,&c); printf("nop %d\\n", c->res); return 0;}',
    # skips itself, as liburing's tests do where a feature is missing
    "t_skip": "int main(void){return 77;}",
    # fails
    "t_fail": '#include <stdio.h>\nint main(void){puts("broken"); return 3;}',
}


def test_test_binaries_run_under_pysentry(tmp_path):
    src = tmp_path / "src"
    bins = tmp_path / "bin"
    src.mkdir()
    bins.mkdir()
    for name, code in PROGRAMS.items():
        (src / (name + ".c")).write_text(code)
        subprocess.run(["gcc", "-o", str(bins / name), str(src / (name + ".c")), "-luring"],
                       check=True)
    proc = _pytest("-v", "--rootdir", str(bins), "--pysentry-binaries", "t_*",
                   "-o", "pysentry_compare_native=true", str(bins), cwd=str(tmp_path))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "t_ok::t_ok PASSED" in out and "t_skip::t_skip SKIPPED" in out, out
    assert "t_fail::t_fail FAILED" in out and "exited 3" in out and "broken" in out, out
    assert "1 failed, 1 passed, 1 skipped" in out, out
