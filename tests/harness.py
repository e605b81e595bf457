"""Shared helpers for integration tests: build the C programs, run them
natively and inside the real sandbox (`python -m pysentry run`)."""
import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_DIR = os.path.join(REPO, "tests", "c")
BUILD = os.path.join(REPO, "tests", "build")


def build(name):
    """Compile tests/c/<name>.c when it or a shared header (tests/c/*.h) is newer
    than the binary; fail loudly, with gcc's messages, if gcc fails."""
    src = os.path.join(C_DIR, name + ".c")
    out = os.path.join(BUILD, name)
    os.makedirs(BUILD, exist_ok=True)
    deps = [src] + glob.glob(os.path.join(C_DIR, "*.h"))
    if not os.path.exists(out) or os.path.getmtime(out) < max(map(os.path.getmtime, deps)):
        # Build beside the target and rename: a concurrent run never executes
        # a half-written binary.
        tmp = "%s.tmp.%d" % (out, os.getpid())
        proc = subprocess.run(["gcc", "-O2", "-Wall", "-o", tmp, src, "-luring", "-lpthread"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError("gcc failed to build %s:\n%s" % (src, proc.stderr))
        os.replace(tmp, out)
    return out


def run_native(name, *args, timeout=60, **kw):
    return subprocess.run([build(name), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def sandbox_cmd(*argv, options=()):
    return [sys.executable, "-m", "pysentry", "run", *options, "--", *map(str, argv)]


def run_sandbox(name, *args, options=(), timeout=120, env=None, **kw):
    """Run tests/c/<name> under `python -m pysentry run`; env adds variables."""
    env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
    return subprocess.run(sandbox_cmd(build(name), *args, options=options), capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env, **kw)


def check(proc):
    """Assert a run exited 0, showing its output if not."""
    assert proc.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


def same_as_native(name, *args, native_args=None, env=None):
    """Run natively (the specification) and in the sandbox: both must exit 0
    and print exactly the same thing.  Returns the sandbox's stdout.  env
    adds variables for the sandbox (PYSENTRY_DATAPLANE=0, say)."""
    native = check(run_native(name, *(native_args if native_args is not None else args)))
    sandboxed = check(run_sandbox(name, *args, env=env))
    assert sandboxed == native
    return sandboxed
