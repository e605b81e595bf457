"""pytest plugin: run programs under pysentry from a project's own tests.

Installed with the package (the `pytest11` entry point), so a project that
has pysentry installed gets, with no conftest changes:

* the `sandbox` fixture: `sandbox.run(argv...)` runs a program under
  `pysentry run` and returns a `Result` with its exit status and output, and
  the io_uring trace as Python objects (`result.sqes("READ")`,
  `result.cqes()`, `result.stats`).  `inject=[...]` takes `--inject` rules
  (docs/cli.md), `sandbox.native(argv...)` runs the same program outside for
  comparison;
* the `pysentry` marker, which sets the fixture's defaults for one test:
  `@pytest.mark.pysentry(inject=["op=READ,nth=3:errno=EIO"], env={...},
  host_io_uring="off")` -- "off" switches the host's io_uring off
  (sysctl kernel.io_uring_disabled=2, needs root) for the test and restores
  it afterwards, to prove the program's io_uring came from the Sentry;
* whole test binaries as tests: the ini option `pysentry_binaries` (globs,
  relative to the rootdir) or `--pysentry-binaries GLOB` turns each matching
  executable into a test that passes when the program exits 0 under pysentry
  (77 means skipped, as in automake and liburing).  With
  `pysentry_compare_native = true` its output must also be byte-identical
  to a native run's.
"""
import fnmatch
import json
import os
import statistics
import subprocess
import sys
import contextlib

import pytest

SYSCTL = "/proc/sys/kernel/io_uring_disabled"
SKIP_STATUS = 77


class Result:
    """One program run: returncode, stdout, stderr (text), the trace's
    events (dicts, see `pysentry run --trace-format json`) and argv."""

    def __init__(self, argv, proc, events):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.events = events

    def _of(self, kind, op):
        return [e for e in self.events if e.get("ev") == kind and (op is None or e["op"] == op)]

    def sqes(self, op=None):
        """The SQEs the program submitted (of opcode name `op`)."""
        return self._of("sqe", op)

    def cqes(self, op=None):
        """The CQEs it was given, in the order they were posted."""
        return self._of("cqe", op)

    def injected(self):
        """The CQEs an --inject rule changed."""
        return [e for e in self.cqes() if e.get("injected")]

    @property
    def stats(self):
        """Per opcode name: calls, errors, median_us and p99_us of the
        latency from submission to completion; and "enters" and
        "sqes_per_enter" for the run."""
        out = {}
        lat = {}
        for e in self.cqes():
            row = out.setdefault(e["op"], {"calls": 0, "errors": 0})
            row["calls"] += 1
            row["errors"] += e["res"] < 0
            if e.get("latency") is not None:
                lat.setdefault(e["op"], []).append(e["latency"])
        for op, values in lat.items():
            values.sort()
            out[op]["median_us"] = statistics.median(values) * 1e6
            out[op]["p99_us"] = values[min(len(values) - 1, int(len(values) * 0.99))] * 1e6
        enters = len(self._of("enter", None))
        out["enters"] = enters
        out["sqes_per_enter"] = len(self.sqes()) / enters if enters else 0.0
        return out

    def check(self):
        """Fail the test, showing the output, unless the program exited 0."""
        if self.returncode != 0:
            pytest.fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(map(str, self.argv)), self.returncode, self.stdout, self.stderr),
                pytrace=False)
        return self


class Sandbox:
    """Runs programs under pysentry; defaults come from the test's marker."""

    def __init__(self, workdir, inject=(), env=None, options=()):
        self.workdir = str(workdir)
        self.inject = list(inject)
        self.env = dict(env or {})
        self.options = list(options)
        self.runs = 0

    def command(self, argv, inject=(), options=(), trace=None):
        cmd = [sys.executable, "-m", "pysentry", "run"]
        if trace is not None:
            cmd += ["--trace-uring", "--trace-format", "json", "-o", trace]
        for rule in self.inject + list(inject):
            cmd += ["--inject", rule]
        return cmd + self.options + list(options) + ["--"] + [str(a) for a in argv]

    def run(self, *argv, inject=(), env=None, options=(), input=None, timeout=300, cwd=None):
        """Run argv under pysentry; return a Result (never raises on a
        non-zero exit: call .check() or assert on .returncode)."""
        self.runs += 1
        trace = os.path.join(self.workdir, "pysentry-trace-%d.jsonl" % self.runs)
        proc = subprocess.run(self.command(argv, inject, options, trace), input=input,
                              capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=dict(os.environ, **self.env, **(env or {})))
        events = []
        if os.path.exists(trace):
            with open(trace) as f:
                events = [json.loads(line) for line in f if line.strip()]
        return Result(argv, proc, events)

    def native(self, *argv, env=None, input=None, timeout=300, cwd=None):
        """Run argv outside the sandbox, for comparison (no events)."""
        proc = subprocess.run([str(a) for a in argv], input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=cwd,
                              env=dict(os.environ, **self.env, **(env or {})))
        return Result(argv, proc, [])


@contextlib.contextmanager
def host_io_uring_off():
    """The host's io_uring switched off (as root) for the block, then restored."""
    if os.geteuid() != 0 or not os.path.exists(SYSCTL):
        pytest.skip("switching the host's io_uring off needs root and %s" % SYSCTL)
    with open(SYSCTL) as f:
        before = f.read().strip()
    with open(SYSCTL, "w") as f:
        f.write("2")
    try:
        yield
    finally:
        with open(SYSCTL, "w") as f:
            f.write(before)


def pytest_addoption(parser):
    group = parser.getgroup("pysentry", "running programs under pysentry")
    group.addoption("--pysentry-binaries", action="append", default=[], metavar="GLOB",
                    help="run each executable matching GLOB (relative to the rootdir) as a "
                         "test under pysentry")
    parser.addini("pysentry_binaries", type="linelist", default=[],
                  help="globs of test executables run under pysentry, one test each")
    parser.addini("pysentry_compare_native", type="bool", default=False,
                  help="test binaries must also print exactly what they print natively")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "pysentry(inject=[], env={}, options=[], host_io_uring=None): defaults "
        "for the sandbox fixture; host_io_uring='off' switches the host's io_uring off "
        "for the test (root)")


@pytest.fixture
def sandbox(request, tmp_path):
    """Run programs under pysentry: sandbox.run(argv...) -> Result."""
    marker = request.node.get_closest_marker("pysentry")
    kw = dict(marker.kwargs) if marker is not None else {}
    off = kw.pop("host_io_uring", None) == "off"
    box = Sandbox(tmp_path, **kw)
    if off:
        with host_io_uring_off():
            yield box
    else:
        yield box


def _binary_globs(config):
    return list(config.getini("pysentry_binaries")) + list(config.getoption("pysentry_binaries"))


def pytest_collect_file(file_path, parent):
    globs = _binary_globs(parent.config)
    if not globs or not os.access(file_path, os.X_OK) or file_path.is_dir():
        return None
    rel = os.path.relpath(file_path, parent.config.rootpath)
    if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(file_path.name, g) for g in globs):
        return BinaryFile.from_parent(parent, path=file_path)
    return None


class BinaryFile(pytest.File):
    def collect(self):
        yield BinaryItem.from_parent(self, name=self.path.name)


class BinaryItem(pytest.Item):
    """A whole test executable run under pysentry."""

    def runtest(self):
        box = Sandbox(self.config._tmp_path_factory.mktemp("pysentry"))
        res = box.run(self.path, cwd=str(self.path.parent))
        if res.returncode == SKIP_STATUS:
            pytest.skip("the program skipped itself (exit %d)" % SKIP_STATUS)
        res.check()
        if self.config.getini("pysentry_compare_native"):
            native = box.native(self.path, cwd=str(self.path.parent))
            if (native.returncode, native.stdout) != (res.returncode, res.stdout):
                pytest.fail("differs from the native run: exit %d vs %d\n--- native\n%s\n"
                            "--- pysentry\n%s" % (native.returncode, res.returncode,
                                                  native.stdout, res.stdout), pytrace=False)
        self.user_properties.append(("io_uring SQEs", len(res.sqes())))

    def repr_failure(self, excinfo):
        return str(excinfo.value)

    def reportinfo(self):
        return self.path, 0, "pysentry run %s" % self.path.name
