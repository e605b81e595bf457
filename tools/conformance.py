#!/usr/bin/env python3
"""liburing's own test suite as pysentry's conformance yardstick.

Fetches liburing's source from Debian's source package, builds its tests, runs
every test program natively and under `pysentry run` (each with a timeout),
and classifies each run:

  pass       exit 0 and nothing said about skipping
  soft-pass  exit 0 but the program said it skipped or found a feature
             unsupported -- NOT a pass
  skip       exit 77 (T_EXIT_SKIP)
  fail       any other exit status or death by signal
  timeout    killed after the timeout
  silent     exit 0 in the sandbox although no SQE and no io_uring_enter ever
             reached the Sentry while the test's source does submit: it
             bailed out quietly on something unsupported -- NOT a pass
             either.  A test that never calls io_uring_enter natively
             either (checked with strace) is marked silent in the native
             column too: it tests nothing on this machine

Usage:
  conformance.py run [--only-ratchet] [--markdown docs/conformance.md] [--jobs N]
  conformance.py check      CI ratchet: every test listed in
                            tests/conformance/passing.txt must strictly pass
                            in the sandbox
Closes with the line `N passed, N failed` for the sandbox column.
"""
import argparse
import json
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = os.path.join(REPO, "build", "liburing")
RATCHET = os.path.join(REPO, "tests", "conformance", "passing.txt")
SRC_LIST = "/etc/apt/sources.list.d/pysentry-deb-src.sources"
SOFT = re.compile(rb"skip|not supported|unsupported|no support|not available|"
                  rb"kernel doesn't|kernel does not|requires", re.I)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_source():
    """Debian's liburing source package, unpacked under build/liburing/."""
    found = [d for d in os.listdir(WORK) if d.startswith("liburing-")] if os.path.isdir(WORK) else []
    if found:
        return os.path.join(WORK, sorted(found)[-1])
    os.makedirs(WORK, exist_ok=True)
    probe = subprocess.run(["apt-get", "source", "--print-uris", "liburing"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or ".dsc" not in probe.stdout:
        print("conformance: adding a deb-src entry (%s)" % SRC_LIST, file=sys.stderr)
        with open(SRC_LIST, "w") as f:
            f.write("Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n"
                    "Components: main\n"
                    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        sh(["apt-get", "update", "-qq"])
    sh(["apt-get", "source", "-qq", "liburing"], cwd=WORK, stdout=subprocess.DEVNULL)
    return ensure_source()


def build(src):
    tests = os.path.join(src, "test")
    if not any(n.endswith(".t") for n in os.listdir(tests)):
        print("conformance: building liburing %s and its tests" % os.path.basename(src),
              file=sys.stderr)
        sh(["./configure"], cwd=src, stdout=subprocess.DEVNULL)
        sh(["make", "-j%d" % (os.cpu_count() or 2), "-C", "src"], cwd=src,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sh(["make", "-j%d" % (os.cpu_count() or 2), "-C", "test"], cwd=src,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return sorted(os.path.join(tests, n) for n in os.listdir(tests) if n.endswith(".t"))


def classify(proc_rc, output, timed_out):
    if timed_out:
        return "timeout"
    if proc_rc == 77:
        return "skip"
    if proc_rc != 0:
        return "fail"
    return "soft-pass" if SOFT.search(output) else "pass"


_SUBMITS = re.compile(rb"io_uring_submit|io_uring_enter|io_uring_wait_cqe|io_uring_get_events")


def _source_submits(path):
    base = path[:-2]
    for ext in (".c", ".cc"):
        if os.path.exists(base + ext):
            with open(base + ext, "rb") as f:
                return bool(_SUBMITS.search(f.read()))
    return True


def run_one(path, sandbox, timeout):
    cmd = [path]
    with tempfile.TemporaryDirectory(prefix="lu-") as cwd:
        trace = os.path.join(cwd, ".pysentry-trace")
        # timeout.c execs ./exec-target.t, as liburing's runner (run from the
        # test directory) provides it.
        helper = os.path.join(os.path.dirname(path), "exec-target.t")
        if os.path.exists(helper):
            os.symlink(helper, os.path.join(cwd, "exec-target.t"))
        if sandbox:
            # --wait-all: natively, subprocess.run() waits for the pipe's EOF,
            # i.e. for every process a test forked, even after its parent exits
            # (poll.c's child does all the io_uring work after the parent returns).
            cmd = [sys.executable, "-m", "pysentry", "run", "--wait-all", "--trace-uring",
                   "--trace-format", "json", "--trace-file", trace, "--"] + cmd
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout, env=dict(os.environ, PYTHONPATH=REPO),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            return "timeout", e.stdout or b"", timeout, _missing(trace)
        verdict = classify(p.returncode, p.stdout, False)
        if sandbox and verdict == "pass" and _source_submits(path):
            events = _events(trace)
            if not any(e["ev"] in ("sqe", "enter") for e in events) and not _sqpoll_setup(events):
                verdict = "silent"
        return verdict, p.stdout, time.monotonic() - t0, _missing(trace)


def _enters_natively(path, timeout):
    """Does the test reach io_uring_enter(2) when run natively?  (strace;
    True when strace is unavailable, so nothing is ever excused blindly.)"""
    strace = shutil.which("strace")
    if strace is None:
        return True
    with tempfile.TemporaryDirectory(prefix="lu-") as cwd:
        log = os.path.join(cwd, ".strace")
        try:
            subprocess.run([strace, "-f", "-qq", "-e", "trace=io_uring_enter,io_uring_setup",
                            "-o", log, path],
                           cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return True
        with open(log, "rb") as f:
            calls = f.read()
        return b"io_uring_enter(" in calls or b"IORING_SETUP_SQPOLL" in calls


def _events(trace):
    """The JSON-lines io_uring trace of a sandbox run (--trace-format json)."""
    try:
        with open(trace) as f:
            return [json.loads(line) for line in f if line.startswith("{")]
    except OSError:
        return []


# An SQPOLL ring can submit without any io_uring_enter: such a test is never
# called silent on either side (nothing can be concluded from the calls).
IORING_SETUP_SQPOLL = 1 << 1


def _sqpoll_setup(events):
    return any(e["ev"] == "setup" and e.get("flags", 0) & IORING_SETUP_SQPOLL for e in events)


def _missing(trace):
    """What the sandbox was asked for and does not implement, from its trace."""
    found = set()
    for e in _events(trace):
        if e["ev"] == "sqe" and e["op"].endswith("(unimplemented)"):
            found.add("op %s" % e["op"][:-len("(unimplemented)")])
        elif e["ev"] == "setup" and e.get("res") == -22:
            found.add("setup %#x" % e["flags"])
        elif e["ev"] == "register" and e.get("res") == -22:
            found.add("register %s" % e["op"])
    return ", ".join(sorted(found))


def load_ratchet():
    if not os.path.exists(RATCHET):
        return []
    with open(RATCHET) as f:
        return [ln.split()[0] for ln in f if ln.strip() and not ln.startswith("#")]


def run(args):
    src = ensure_source()
    progs = build(src)
    if args.only:
        progs = [p for p in progs if os.path.basename(p)[:-2] in args.only]
    names = [os.path.basename(p)[:-2] for p in progs]
    results = {}

    def job(p):
        name = os.path.basename(p)[:-2]
        native = run_one(p, False, args.timeout) if not args.sandbox_only else ("-", b"", 0, "")
        sandbox = run_one(p, True, args.timeout)
        if sandbox[0] == "silent" and native[0] == "pass" and not _enters_natively(p, args.timeout):
            # The test bails out before submitting natively too (a feature
            # gate such as IORING_FEAT_FAST_POLL): a no-op in both columns,
            # so it says nothing about the sandbox either way.
            native = ("silent",) + tuple(native[1:])
        return name, native, sandbox

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, native, sandbox in pool.map(job, progs):
            results[name] = (native, sandbox)
            print("%-28s native=%-9s sandbox=%-9s (%.1fs)" % (name, native[0], sandbox[0],
                                                            sandbox[2]), flush=True)
            if args.verbose and sandbox[0] != "pass":
                print(sandbox[1].decode(errors="replace")[-800:])
    npass = sum(1 for n in names if results[n][1][0] == "pass")
    native_pass = sum(1 for n in names if results[n][0][0] == "pass")
    TIMEOUT_FOR_DOC[0] = int(args.timeout)
    if args.markdown:
        write_markdown(args.markdown, os.path.basename(src), names, results, native_pass, npass)
    if args.write_ratchet:
        write_ratchet(names, results)
    print("native strict passes: %d of %d" % (native_pass, len(names)))
    print("%d passed, %d failed" % (npass, len(names) - npass))
    return 0


# A pass that took longer than this in the sandbox is real but stays out of
# the CI ratchet: CI runs on other machines, where a slow test could cross
# check's timeout and fail for time alone (timeouts guard against hangs).
RATCHET_MAX_SECONDS = 20
TIMEOUT_FOR_DOC = [300]       # the run's --timeout, for the generated text


def write_ratchet(names, results):
    # Only tests that pass here are added; confirm new entries with `check`
    # a few times before committing (a race can make a quiet test pass once).
    keep = set(load_ratchet())
    keep |= {n for n in names if results[n][1][0] == "pass"
             and results[n][1][2] <= RATCHET_MAX_SECONDS}
    os.makedirs(os.path.dirname(RATCHET), exist_ok=True)
    with open(RATCHET, "w") as f:
        f.write("# liburing tests that strictly pass under pysentry; CI keeps them passing.\n"
                "# This list only grows (tools/conformance.py run --write-ratchet).\n")
        for n in sorted(keep):
            f.write(n + "\n")


def write_markdown(path, version, names, results, native_pass, npass):
    with open(path, "w") as f:
        f.write("# Conformance: liburing's test suite under pysentry\n\n")
        f.write("Generated by `tools/conformance.py run --markdown %s` from Debian's %s.\n"
                "A *soft pass* exits 0 but says it skipped or found something unsupported; "
                "it does not count as a pass.\n\n" % (path, version))
        f.write("**Native strict passes: %d of %d. pysentry strict passes: %d of %d.**\n\n"
                % (native_pass, len(names), npass, len(names)))
        f.write("The last column is what the test asked of the Sentry that it does not "
                "implement yet, read from its io_uring trace (unimplemented opcodes, setup "
                "flags and register opcodes refused with EINVAL). Times are wall-clock "
                "seconds on the machine that generated this file; the per-test timeout "
                "(%d s) only guards against hangs, and a pass slower than %d s is kept "
                "out of the CI ratchet.\n\n" % (TIMEOUT_FOR_DOC[0], RATCHET_MAX_SECONDS))
        natives = [n for n in names if results[n][0][0] != "pass"]
        if natives:
            f.write("## Tests that do not strictly pass natively on this machine\n\n"
                    "They cannot be held against the sandbox; the reason is the test's own "
                    "last line of output natively.\n\n| test | native | reason |\n|---|---|---|\n")
            for n in natives:
                f.write("| %s | %s | %s |\n" % (n, results[n][0][0], _reason(results[n][0])))
            f.write("\n## All tests\n\n")
        f.write("| test | native | pysentry | native s | pysentry s | missing in pysentry |\n"
                "|---|---|---|---|---|---|\n")
        for n in names:
            native, sandbox = results[n]
            why = (sandbox[3] or "not diagnosed") if sandbox[0] not in ("pass", "skip") else ""
            if sandbox[0] == "pass" and sandbox[2] > RATCHET_MAX_SECONDS:
                why = "slow: kept out of the CI ratchet (over %d s)" % RATCHET_MAX_SECONDS
            f.write("| %s | %s | %s | %.1f | %.1f | %s |\n" % (
                n, native[0], sandbox[0], native[2], sandbox[2], why))


def _reason(result):
    verdict, output = result[0], result[1]
    lines = [ln for ln in output.decode(errors="replace").splitlines() if ln.strip()]
    if verdict == "timeout":
        return "no exit within the timeout" + (": " + lines[-1][:100] if lines else "")
    if verdict == "skip":
        return (lines[-1][:120] if lines else "exit 77 (skip)").replace("|", "/")
    if verdict == "silent":
        return ("exits 0 but never calls io_uring_enter natively either (strace): it "
                "stops at a feature check before submitting")
    return (lines[-1][:120] if lines else "exit status %s" % verdict).replace("|", "/")


def check(args):
    """The ratchet: listed tests must keep passing strictly in the sandbox."""
    names = load_ratchet()
    if args.only:
        # A part of the ratchet (the container tests run one).
        names = [n for n in names if n in args.only]
    if not names:
        # An empty ratchet would make this check pass while testing nothing.
        print("conformance: %s lists no tests" % RATCHET)
        print("0 passed, 1 failed")
        return 1
    args.only = names
    args.sandbox_only = True
    args.markdown = None
    args.write_ratchet = False
    src = ensure_source()
    progs = [p for p in build(src) if os.path.basename(p)[:-2] in names]
    missing = set(names) - {os.path.basename(p)[:-2] for p in progs}
    failed = sorted(missing)
    retry = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for p, res in zip(progs, pool.map(lambda p: run_one(p, True, args.timeout), progs)):
            name = os.path.basename(p)[:-2]
            if res[0] != "pass":
                print("%-28s %s, retried once alone at the end" % (name, res[0]), flush=True)
                retry.append(p)
                continue
            print("%-28s %s" % (name, res[0]), flush=True)
    # One retry absorbs host timing noise; a real regression fails twice.
    # It runs after the others, alone: some of liburing's tests give the
    # kernel a fixed 1 ms to finish (recv-multishot's "allow sends to
    # finish": Linux completes the receives its own sends wake before
    # send(2) returns, the Sentry a moment later -- docs/io_uring.md,
    # "Deferred task running"), which a run beside another test can miss.
    for p in retry:
        name = os.path.basename(p)[:-2]
        res = run_one(p, True, args.timeout)
        print("%-28s %s" % (name, res[0]), flush=True)
        if res[0] != "pass":
            failed.append(name)
            print(res[1].decode(errors="replace")[-1500:])
    print("%d passed, %d failed" % (len(names) - len(failed), len(failed)))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["run", "check"])
    # A guard against hangs, not a speed target (those live in `make bench`):
    # a test that passes slowly under ptrace still passes.
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="run only these tests")
    ap.add_argument("--sandbox-only", action="store_true")
    ap.add_argument("--markdown", metavar="FILE")
    ap.add_argument("--write-ratchet", action="store_true",
                    help="add the tests that passed in the sandbox to the ratchet list")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if shutil.which("gcc") is None:
        sys.exit("conformance: gcc is needed (make deps)")
    return run(args) if args.command == "run" else check(args)


if __name__ == "__main__":
    sys.exit(main())
