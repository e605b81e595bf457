"""Shared helpers for integration tests: build the C programs, run them
natively and inside the real sandbox (`python -m pysentry run`)."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_DIR = os.path.join(REPO, "tests", "c")
BUILD = os.path.join(REPO, "tests", "build")


def build(name):
    """Compile tests/c/<name>.c (once per source change); fail loudly if gcc fails."""
    src = os.path.join(C_DIR, name + ".c")
    out = os.path.join(BUILD, name)
    os.makedirs(BUILD, exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", out, src, "-luring", "-lpthread"],
                       check=True, capture_output=True, text=True)
    return out


def run_native(name, *args, timeout=60, **kw):
    return subprocess.run([build(name), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def sandbox_cmd(*argv, options=()):
    return [sys.executable, "-m", "pysentry", "run", *options, "--", *map(str, argv)]


def run_sandbox(name, *args, options=(), timeout=120, **kw):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(sandbox_cmd(build(name), *args, options=options), capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env, **kw)


def check(proc):
    """Assert a run exited 0, showing its output if not."""
    assert proc.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout
