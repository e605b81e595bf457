"""pysentry inside a default container, emulated without a container engine.

tools/container_sandbox.py starts a command as Docker, podman or Kubernetes
(containerd) start a default container's process: the runtime's published
default seccomp profile, evaluated for its default capabilities and loaded as
runc loads it, and the capability sets cut down to the runtime's default.  The
profiles are the files as published, fetched once from Debian's archive into
a cache outside the checkout (container_sandbox.cache_dir(): by default
~/.cache/pysentry/container-profiles, or $PYSENTRY_PROFILE_CACHE).

Natively, inside that emulation, io_uring is refused -- which is the reason
pysentry exists.  Under pysentry, inside the same emulation, an io_uring
program must print exactly what it prints under pysentry outside it.
"""
import os
import re
import subprocess
import sys

import pytest

from harness import BUILD, REPO, build

TOOLS = os.path.join(REPO, "tools")
LAUNCHER = os.path.join(TOOLS, "container_sandbox.py")
sys.path.insert(0, TOOLS)
import container_sandbox  # noqa: E402

# What io_uring_setup(2) gets natively inside each runtime's default container:
# Docker and containerd deny it with the profile's default errno (EPERM);
# containers/common's profile (podman, CRI-O) names no io_uring rule, and its
# default errno is ENOSYS.
REFUSED_WITH = {"docker": "EPERM", "podman": "ENOSYS", "containerd": "EPERM"}
# Bounding = permitted = effective set inside (CapBnd in /proc/self/status).
CAP_MASK = {"docker": 0xA80425FB, "podman": 0x800405FB, "containerd": 0xA80425FB}


def profile(runtime):
    """The runtime's published profile; fetched on first use.  Never skipped:
    a profile that cannot be had fails the test, saying how to get it."""
    try:
        return container_sandbox.published_profile(runtime)
    except container_sandbox.ProfileError as e:
        pytest.fail("no %s seccomp profile: %s" % (runtime, e))


def in_container(runtime, *argv, timeout=120, **kw):
    path = profile(runtime)
    cmd = [sys.executable, LAUNCHER, "--profile", path,
           "--caps", container_sandbox.PUBLISHED[runtime][3], "--", *map(str, argv)]
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env=env, **kw)


def pysentry(*argv):
    return [sys.executable, "-m", "pysentry", "run", "--", *map(str, argv)]


def build_demo():
    """tools/demo/uring_demo.c, the program `make demo` runs."""
    src = os.path.join(TOOLS, "demo", "uring_demo.c")
    out = os.path.join(BUILD, "uring_demo")
    os.makedirs(BUILD, exist_ok=True)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        tmp = "%s.tmp.%d" % (out, os.getpid())
        proc = subprocess.run(["gcc", "-O2", "-Wall", "-o", tmp, src, "-luring"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, "gcc failed to build %s:\n%s" % (src, proc.stderr)
        os.replace(tmp, out)
    return out


def _ok(proc):
    assert proc.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.mark.parametrize("runtime", sorted(REFUSED_WITH))
def test_native_io_uring_is_refused_in_the_container(runtime):
    """The emulation refuses io_uring as the runtime does, and runs the rest."""
    assert _ok(in_container(runtime, "/bin/echo", "hello")) == "hello\n"
    err = REFUSED_WITH[runtime]
    out = _ok(in_container(runtime, build("uring_refused")))
    assert out == "io_uring_setup: %s\nio_uring_queue_init: %s\n" % (err, err)


@pytest.mark.parametrize("runtime", sorted(CAP_MASK))
def test_container_capabilities_and_filter_are_the_runtimes(runtime):
    status = _ok(in_container(runtime, "cat", "/proc/self/status"))
    fields = dict(re.findall(r"^(\w+):\s*(\S+)", status, re.M))
    mask = "%016x" % CAP_MASK[runtime]
    assert (fields["CapBnd"], fields["CapPrm"], fields["CapEff"]) == (mask, mask, mask)
    assert (fields["CapInh"], fields["CapAmb"]) == ("0" * 16, "0" * 16)
    assert fields["Seccomp"] == "2" and fields["Seccomp_filters"] == "1"
    assert fields["NoNewPrivs"] == "0"       # runtimes do not set it by default


# What runs inside each container, beside echo and the demo: a spread of
# tests/c programs -- files, pipes and sockets, timeouts, polls, registered
# files and buffers, SQ polling, threads/fork/exec, task-work ops (OPENAT,
# ACCEPT, SCM_RIGHTS), credentials -- each with its arguments.
PROGRAMS = {
    "echo": lambda d: ["/bin/echo", "hello"],
    "uring_refused": lambda d: [build("uring_refused")],
    "uring_demo": lambda d: [build_demo()],
    "rw_file": lambda d: [build("rw_file"), d / "f.dat"],
    "streams": lambda d: [build("streams")],
    "timeouts": lambda d: [build("timeouts")],
    "poll_ops": lambda d: [build("poll_ops")],
    "sqpoll": lambda d: [build("sqpoll")],
    "fixed_rsrc": lambda d: [build("fixed_rsrc"), d / "r.dat"],
    "open_close": lambda d: [build("open_close"), d],
    "accept_socket": lambda d: [build("accept_socket")],
    "scm_rights": lambda d: [build("scm_rights")],
    "net_ops": lambda d: [build("net_ops")],
    "procs": lambda d: [build("procs")],
}

# A part of the liburing ratchet (tests/conformance/passing.txt) run inside
# each container by tools/conformance.py.  Not `personality`: it drops to
# another uid, after which a root Sentry without CAP_SYS_PTRACE may not read
# the process's memory (docs/ci.md, known limits).
LIBURING = ["nop", "fsync", "poll", "timeout", "link", "open-close", "statx", "read-before-exit",
            "socket-rw", "accept", "cq-overflow", "eventfd", "splice", "sq-poll-kthread",
            "register-restrictions", "file-register", "fixed-link"]


def _same_in_and_out(runtime, argv_for, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    (tmp_path / "out").mkdir()
    (tmp_path / "in").mkdir()
    outside = subprocess.run(pysentry(*argv_for(tmp_path / "out")), capture_output=True,
                             text=True, timeout=300, cwd=REPO, env=env)
    inside = in_container(runtime, *pysentry(*argv_for(tmp_path / "in")), timeout=300)
    assert (inside.returncode, inside.stdout) == (outside.returncode, outside.stdout), (
        "inside the %s container: exit %d\nstdout:\n%s\nstderr:\n%s\noutside: exit %d\n%s" % (
            runtime, inside.returncode, inside.stdout, inside.stderr[-3000:],
            outside.returncode, outside.stderr[-2000:]))


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("runtime", sorted(REFUSED_WITH))
def test_pysentry_in_the_container_matches_pysentry_outside(runtime, program, tmp_path):
    """pysentry serves io_uring inside a default container exactly as outside
    it: same stdout, same exit status."""
    _same_in_and_out(runtime, PROGRAMS[program], tmp_path)


@pytest.mark.parametrize("runtime", sorted(REFUSED_WITH))
def test_liburing_tests_pass_under_pysentry_in_the_container(runtime):
    ratchet = open(os.path.join(REPO, "tests", "conformance", "passing.txt")).read().split()
    assert set(LIBURING) <= set(ratchet), set(LIBURING) - set(ratchet)
    proc = in_container(runtime, sys.executable, os.path.join(TOOLS, "conformance.py"),
                        "check", "--timeout", "60", "--only", *LIBURING, timeout=1800)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0 and tail == "%d passed, 0 failed" % len(LIBURING), (
        proc.stdout[-4000:] + proc.stderr[-2000:])


def test_check_reports_the_container_paths():
    """--check names what the container refuses and the path taken instead."""
    out = _ok(in_container("docker", *pysentry()[:-1], "--check"))
    assert "pidfd_getfd          refused: EPERM" in out
    assert "take a child's fd    SCM_RIGHTS from the child" in out
    assert "io_uring_* stops     SIGSYS" in out
