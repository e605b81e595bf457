#!/usr/bin/env python3
"""Differential io_uring fuzzer with Linux as the oracle.

Programs come from seeds (gen.py) and run in batches in one interpreter
process (interp.c: a forked child per program, each in its own scratch
directory) -- natively twice and under `pysentry run` once.  Per program the
outputs are compared line for line: every setup/enter/register result, every
CQE (sorted by user_data: the order of independent completions is Linux's
choice, so it is not compared), a hash of the memory requests could write and
of the files, before and after the process exits.

What Linux itself does not make deterministic is not loosened but detected:
a program whose two native runs differ (a completion racing a timeout, an
io-wq worker finishing after exit) is counted as "linux-nondeterministic" and
left out of the comparison; so is one whose pysentry output a native rerun of
it alone (up to three) reproduces: Linux gives that result too.  A program
whose outputs differ only by CQEs pysentry posted that Linux had not when
the program stopped looking, each of a request Linux completes in an io-wq
worker (IOSQE_ASYNC, IOSQE_IO_DRAIN, the ops it always punts, and their
links), is counted as "iowq-late": a timing difference, said so, not a
divergence.  So is one whose output Linux gives when paused after every step
(settled_gives), if it moved its CQ head back (its waits then return at
once, and its final dump of the CQ slots shows when each CQE came) or
differs only in CQEs of requests Linux runs in io-wq; one with an SQPOLL
ring that Linux, so paused, matches is "sqpoll-late" (its SQ thread's
timing).  One whose pysentry run with PYSENTRY_WAKE_IN_WRITE=1 gives
Linux's output is counted as "write-wake": a request woken by the
program's own write completed a moment after the write returned, a
documented difference.  Everything else must match.  A batch whose native runs met io_uring disabled
by the kernel.io_uring_disabled sysctl (other suites toggle it) is counted as
"host-uring-disabled" and not compared either.

  fuzz.py run --seeds 1-1000 [--batch 100] [--jobs 2] [--par 16]
                                                       report divergences
  fuzz.py show SEED                                    the script and both outputs
  fuzz.py min SEED [--emit NAME]                       minimise a divergence; with
                                                       --emit write tests/c/NAME.c
Divergences are saved in build/fuzz/divergences/SEED.txt.  Exit status 1 if
any program diverged, crashed or hung the Sentry.
"""
import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen  # noqa: E402

BUILD = os.path.join(REPO, "build", "fuzz")
INTERP_SRC = os.path.join(HERE, "interp.c")
LIB = os.path.join(REPO, "tests", "c", "fuzzlib.h")
RAWRING = os.path.join(REPO, "tests", "c", "rawring.h")
# Programs an interpreter runs at once (interp.c -j): they mostly wait for
# CQEs and quiet periods, so they overlap; `run --par` sets it.
PAR = 16


def build():
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "interp")
    newest = max(os.path.getmtime(p) for p in (INTERP_SRC, LIB, RAWRING))
    if not os.path.exists(out) or os.path.getmtime(out) < newest:
        tmp = "%s.%d" % (out, os.getpid())
        subprocess.run(["gcc", "-O2", "-Wall", "-o", tmp, INTERP_SRC], check=True)
        os.replace(tmp, out)
    return out


def parse(out):
    progs, name = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            name = line[3:]
            progs[name] = []
        elif name is not None:
            progs[name].append(line)
    return progs


def run_batch_once(interp, scripts, sandbox, timeout, env=None):
    """Run {name: script} in one interpreter; returns ({name: [lines]}, error or None)."""
    work = tempfile.mkdtemp(prefix="pysentry-fuzz-")
    try:
        path = os.path.join(work, "programs.txt")
        with open(path, "w") as f:
            for name, text in scripts.items():
                f.write("program %s\n%s" % (name, text))
        # A program's WRITE to fd 1 or 2 puts its buffer's bytes there:
        # decoded with errors="replace", as alike natively and sandboxed.
        cmd = [interp, "-j", str(PAR), path]
        if sandbox:
            cmd = [sys.executable, "-m", "pysentry", "run", "--"] + cmd
        env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return parse(out), "hang (killed after %d s)" % timeout
        error = None
        if proc.returncode != 0:
            error = "exit status %d: %s" % (proc.returncode, err.strip()[-1500:])
        elif sandbox and "Traceback" in err:
            error = "Sentry traceback: " + err.strip()[-1500:]
        return parse(out), error
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Ops whose prep sets REQ_F_FORCE_ASYNC in Linux 6.18: issued only by an
# io-wq worker, never inline (fsync, sync_file_range and fallocate; statx;
# madvise; fadvise but for NORMAL/RANDOM/SEQUENTIAL; splice and tee;
# renameat, unlinkat, mkdirat, symlinkat, linkat; the xattr ops; ftruncate;
# openat/openat2 when they may create or truncate).
_IOWQ_OPS = {3, 8, 17, 21, 25, 30, 33, 35, 36, 37, 38, 39, 41, 42, 43, 44, 55}
_O_CREAT_TRUNC_TMPFILE = 0o100 | 0o1000 | 0o20000000
# WRITE, WRITEV, WRITE_FIXED: a buffered write to a regular file whose file
# system cannot take one without blocking (no FOP_BUFFER_WASYNC: ext4, where
# the scratch directories are on this host) is punted by io_write() to io-wq.
_WRITE_OPS = {2, 5, 23}
_IOSQE_FIXED_FILE, _IOSQE_DRAIN, _IOSQE_ASYNC = 1, 1 << 1, 1 << 4
_IOSQE_LINKS = (1 << 2) | (1 << 3)
_IORING_SETUP_IOPOLL = 1
_IORING_SETUP_SQPOLL = 2


def iowq_user_data(script):
    """user_data of the SQEs Linux completes in an io-wq worker: IOSQE_ASYNC,
    IOSQE_IO_DRAIN (io_init_req sets REQ_F_FORCE_ASYNC on a request while a
    drain is active, its own flag included, and io_req_task_submit punts it
    when the drain lets it go), an op it always punts, and what is linked
    after one (a link's next request is queued by the completion of the one
    before); and a link chain still open when a submit step comes
    (io_submit_state_end hands its head to io-wq: io_queue_sqe_fallback).

    On an IOPOLL ring also every SQE after an IOSQE_IO_DRAIN one (even one
    that failed initialisation): ctx->drain_active stays set until a later
    request finds nothing else allocated, and each request meanwhile is
    REQ_F_FORCE_ASYNC.  That matters there because such a ring's io-wq
    completions reach the CQ only by task work (ctx->lockless_cq) and its
    io_uring_enter(GETEVENTS) never sleeps (io_iopoll_check), so whether
    the program sees them is timing (fuzz seeds 8951 11087 25888 29891)."""
    out, chain_async, chain = set(), False, []
    iopoll = drained = False
    for line in script.splitlines():
        w = line.split()
        if w and w[0] == "setup":
            iopoll, drained = bool(int(w[2]) & _IORING_SETUP_IOPOLL), False
            continue
        if w and w[0] == "submit" and chain:
            out.update(chain)
            chain, chain_async = [], False
            continue
        if not w or w[0] != "sqe":
            continue
        op, flags, rw, ud = int(w[1]), int(w[2]), int(w[8]), int(w[9])
        punted = (flags & (_IOSQE_ASYNC | _IOSQE_DRAIN) or op in _IOWQ_OPS
                  or (op == 24 and rw not in (0, 1, 2))
                  or (op in (18, 28) and rw & _O_CREAT_TRUNC_TMPFILE)
                  or (op in _WRITE_OPS and int(w[4]) == gen.FD_FILE
                      and not flags & _IOSQE_FIXED_FILE))
        drained = drained or (iopoll and bool(flags & _IOSQE_DRAIN))
        if punted or chain_async or drained:
            out.add(ud)
        chain_async = bool(flags & _IOSQE_LINKS) and (punted or chain_async)
        chain = chain + [ud] if flags & _IOSQE_LINKS else []
    return out


def iowq_late(script, native, sandbox):
    """The outputs differ only by CQEs the Sentry posted that Linux had not
    when the program stopped looking, each of a request Linux completes in
    an io-wq worker: the Sentry completes it inline (docs/reliability.md).
    Such a request may also have changed the files under the Sentry and not
    (yet) under Linux, so the files' hashes may differ when one of them has
    no CQE in Linux's output -- after the process exited too: Linux cancels
    io-wq work not yet started when its task exits.  Nothing else may differ -- not a result, the
    memory hash, or a CQE's value."""
    sb_only = list(sandbox)
    native_only = []
    for line in native:
        if line in sb_only:
            sb_only.remove(line)
        else:
            native_only.append(line)
    late = iowq_user_data(script)
    seen = {int(line.split()[1]) for line in native if line.startswith("cqe ")}
    files_may_differ = bool(late - seen)
    file_lines = ("files ", "after ")
    for line in native_only:
        if not (line.startswith(file_lines) and files_may_differ):
            return False
    for line in sb_only:
        if line.startswith(file_lines) and files_may_differ and native_only:
            continue
        if not (line.startswith("cqe ") and int(line.split()[1]) in late):
            return False
    return bool(sb_only)


def compare(scripts, n1, n2, sb, sb_error):
    """Per program: 'ok', 'linux-nondeterministic', 'iowq-late', 'diverged',
    or 'sentry-failed'."""
    verdicts = {}
    for name in scripts:
        a, b, s = n1.get(name), n2.get(name), sb.get(name)
        if a is None or b is None or a != b:
            verdicts[name] = "linux-nondeterministic"
        elif s is None or (sb_error and s != a):
            verdicts[name] = "sentry-failed"
        elif s != a and iowq_late(scripts[name], a, s):
            verdicts[name] = "iowq-late"
        elif s != a:
            verdicts[name] = "diverged"
        else:
            verdicts[name] = "ok"
    return verdicts


def linux_also_gives(interp, script, output, timeout, tries=3):
    """Run a diverging program natively alone, up to `tries` times: does
    Linux itself ever produce the Sentry's output?  Then the two native runs
    of the batch only happened to agree on another of Linux's results."""
    for _ in range(tries):
        one, _ = run_batch_once(interp, {"p": script}, False, timeout)
        if one.get("p") == output:
            return True
    return False


def late_user_data(script):
    """iowq_user_data(), plus every SQE after an IOSQE_IO_DRAIN one on any
    ring: while ctx->drain_active is set each request is REQ_F_FORCE_ASYNC
    and goes to io-wq when the drain lets it go.  Wider than the drain rule
    iowq_late() uses (only IOPOLL there): it only picks which programs get
    the settled rerun, whose output is the evidence."""
    out, drained = iowq_user_data(script), False
    for line in script.splitlines():
        w = line.split()
        if w and w[0] == "setup":
            drained = False
        elif w and w[0] == "sqe":
            drained = drained or bool(int(w[2]) & _IOSQE_DRAIN)
            if drained:
                out.add(int(w[9]))
    return out


def only_late_cqes(script, native, sandbox):
    """The outputs differ only in CQE lines, each of a request Linux may
    complete from an io-wq worker (late_user_data), and in the hashes of
    memory and files such a request may have written (seed 38541: an
    IOSQE_ASYNC READ Linux's worker had not done when the program exited)."""
    late = late_user_data(script)
    a, b = list(native), list(sandbox)
    for line in native:
        if line in b:
            a.remove(line)
            b.remove(line)
    hashes = ("arena ", "files ", "after ")
    return bool(late) and bool(a or b) and all(
        line.startswith(hashes) or (line.startswith("cqe ") and int(line.split()[1]) in late)
        for line in a + b)


def sqpoll_ring(script):
    """Does the program set up a ring with IORING_SETUP_SQPOLL?"""
    return any(line.startswith("setup ") and int(line.split()[2]) & _IORING_SETUP_SQPOLL
               for line in script.splitlines())


def settled_gives(interp, script, output, timeout, native=None):
    """Linux gives the Sentry's output when run natively once more with a
    pause after every step (interp.c FUZZ_SETTLE_MS), so the divergence is
    only when asynchronous work landed.  Tried for three kinds of program:

    - one that moved its CQ head back (`scribble 2`): it no longer waits for
      anything, every wait sees the CQ "full" and returns at once, so a CQE
      Linux posts from an io-wq worker or by task work lands whenever the
      worker gets to it, and the final dump of the CQ slots shows when;
    - one whose only differences (from `native`) are CQEs of requests Linux
      runs in io-wq, and what they wrote (only_late_cqes): the worker runs
      beside the program, which may have moved on -- reaped the CQ a
      POLL_ADD on the ring fd then polls (seed 7134), or exited (38541) --
      before the worker gets to the request;
    - one with an SQPOLL ring: Linux's SQ thread takes the SQEs whenever it
      wakes, beside the program's next steps (scribbles, reaps, exits).

    The Sentry issues such requests inline, as a worker that ran at once
    (its SQ thread, as one that was quick)."""
    scribbled = any(line.startswith("scribble 2 ") for line in script.splitlines())
    if not (scribbled or sqpoll_ring(script)
            or (native and only_late_cqes(script, native, output))):
        return False
    one, _ = run_batch_once(interp, {"p": script}, False, timeout,
                            env={"FUZZ_SETTLE_MS": str(SETTLE_MS)})
    return one.get("p") == output


SETTLE_MS = 50


def woken_in_write(interp, script, native, timeout):
    """A program that writes to its pipe, socket or eventfd (`write` steps)
    may wake a request it submitted: Linux completes it by task work before
    write(2) returns, while the Sentry, unless a DEFER_TASKRUN ring exists,
    lets the write go on and completes the request a moment later -- a
    documented difference (docs/io_uring.md) that spares busy event loops an
    extra stop per write.  If the sandboxed run with PYSENTRY_WAKE_IN_WRITE=1
    (the exact behaviour) gives Linux's output, that is the divergence."""
    if not native or not any(line.startswith("write ") for line in script.splitlines()):
        return False
    with sandbox_host():
        one, err = run_batch_once(interp, {"p": script}, True, timeout * 4,
                                  env={"PYSENTRY_WAKE_IN_WRITE": "1"})
    return err is None and one.get("p") == native


def host_uring_enabled():
    """kernel.io_uring_disabled is 0: the oracle can run.  Other test suites
    on the machine toggle it; a batch run while it was set is not compared."""
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            return f.read().strip() == "0"
    except OSError:
        return True


HOST_OFF = False     # --host-uring-off: the sandboxed runs with kernel.io_uring_disabled=2


@contextlib.contextmanager
def sandbox_host():
    """Around a sandboxed run: with --host-uring-off the host's io_uring is
    switched off (kernel.io_uring_disabled=2, so not even root may set up a
    ring) and back on after, proving the Sentry never needs it; the native
    oracle runs with it on."""
    if not HOST_OFF:
        yield
        return
    with open("/proc/sys/kernel/io_uring_disabled", "w") as f:
        f.write("2")
    try:
        yield
    finally:
        with open("/proc/sys/kernel/io_uring_disabled", "w") as f:
            f.write("0")


def fuzz_batch(interp, seeds, timeout):
    scripts = {"s%d" % s: gen.program(s) for s in seeds}
    enabled = host_uring_enabled()
    n1, e1 = run_batch_once(interp, scripts, False, timeout)
    n2, e2 = run_batch_once(interp, scripts, False, timeout)
    # Setup is EPERM only when the sysctl is set: it was, briefly, mid-run.
    eperm = any(line.startswith("setup(") and line.endswith("= -1")
                for out in (n1, n2) for lines in out.values() for line in lines)
    if not (enabled and host_uring_enabled()) or eperm:
        return [(name, "host-uring-disabled") for name in scripts]
    with sandbox_host():
        sb, se = run_batch_once(interp, scripts, True, timeout * 4)
    verdicts = compare(scripts, n1, n2, sb, se)
    if se:
        # The Sentry failed somewhere in the batch: find which program by
        # running the ones that did not match alone.
        for name, v in verdicts.items():
            if v == "sentry-failed":
                with sandbox_host():
                    one, err = run_batch_once(interp, {name: scripts[name]}, True, timeout * 4)
                if err is None and one.get(name) == n1[name]:
                    verdicts[name] = "ok"
                elif err is None:
                    verdicts[name] = "diverged"
                    sb[name] = one.get(name)
                else:
                    sb[name] = (one.get(name) or []) + ["SENTRY: " + err]
    for name, v in verdicts.items():
        if v == "diverged" and linux_also_gives(interp, scripts[name], sb[name], timeout):
            verdicts[name] = "linux-nondeterministic"
        elif v == "diverged" and settled_gives(interp, scripts[name], sb[name], timeout,
                                               n1.get(name)):
            verdicts[name] = "sqpoll-late" if sqpoll_ring(scripts[name]) else "iowq-late"
        elif v == "diverged" and woken_in_write(interp, scripts[name], n1.get(name), timeout):
            verdicts[name] = "write-wake"
    out = []
    for name, v in verdicts.items():
        if v in ("diverged", "sentry-failed"):
            save(name, scripts[name], n1.get(name), sb.get(name), v)
        out.append((name, v))
    return out


def save(name, script, native, sandbox, verdict):
    d = os.path.join(BUILD, "divergences")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name[1:] + ".txt"), "w") as f:
        f.write("# %s %s\n%s\n# native\n%s\n# pysentry\n%s\n" % (
            name, verdict, script, "\n".join(native or []), "\n".join(sandbox or [])))


def parse_seeds(spec):
    seeds = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds.extend(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    return seeds


def cmd_run(args):
    global PAR, HOST_OFF
    PAR = args.par
    HOST_OFF = args.host_uring_off
    if HOST_OFF and args.jobs != 1:
        sys.exit("--host-uring-off runs one batch at a time: add --jobs 1")
    interp = build()
    seeds = parse_seeds(args.seeds)
    batches = [seeds[i:i + args.batch] for i in range(0, len(seeds), args.batch)]
    counts = {}
    bad = []
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = [pool.submit(fuzz_batch, interp, b, args.timeout) for b in batches]
        for i, fut in enumerate(concurrent.futures.as_completed(futs)):
            for name, v in fut.result():
                counts[v] = counts.get(v, 0) + 1
                if v in ("diverged", "sentry-failed"):
                    bad.append((name, v))
                    print("%s %s" % (name, v), flush=True)
            if not args.quiet:
                print("batch %d/%d done, %s (%.0f s)" % (i + 1, len(batches), counts,
                                                        time.monotonic() - t0),
                      file=sys.stderr, flush=True)
    summary = {"programs": len(seeds), "seconds": round(time.monotonic() - t0, 1), **counts}
    print(json.dumps(summary))
    if args.log:
        with open(args.log, "a") as f:
            f.write(json.dumps(dict(summary, seeds=args.seeds, bad=[b[0] for b in bad])) + "\n")
    return 1 if bad else 0


def diverges(interp, script, timeout=30):
    """The differing (native, sandbox) outputs of one script, or None if it matches
    (or Linux is not deterministic about it)."""
    n1, _ = run_batch_once(interp, {"p": script}, False, timeout)
    n2, _ = run_batch_once(interp, {"p": script}, False, timeout)
    if n1.get("p") != n2.get("p"):
        return None
    sb, err = run_batch_once(interp, {"p": script}, True, timeout * 4)
    s = (sb.get("p") or []) + (["SENTRY: " + err] if err else [])
    if s == n1.get("p") or (n1.get("p") and iowq_late(script, n1["p"], s)):
        return None
    if not err and settled_gives(interp, script, s, timeout, n1.get("p")):
        return None
    if not err and woken_in_write(interp, script, n1.get("p"), timeout):
        return None
    return n1.get("p"), s


def minimise(interp, script):
    lines = script.splitlines()
    changed = True
    while changed:
        changed = False
        for i in range(len(lines) - 1, 0, -1):      # line 0 is the setup
            trial = lines[:i] + lines[i + 1:]
            if diverges(interp, "\n".join(trial) + "\n"):
                lines = trial
                changed = True
    return "\n".join(lines) + "\n"


def to_c(name, script, comment):
    """A tests/c program doing the script's steps with tests/c/fuzzlib.h."""
    body = []
    for line in script.splitlines():
        w = line.split()
        args = ", ".join(a if not a.isdigit() or int(a) < 2 ** 31 else a + "ULL" for a in w[1:])
        call = {"setup": "fz_setup", "sqe": "fz_sqe", "submit": "fz_submit", "reap": "fz_reap",
                "register": "fz_register", "scribble": "fz_scribble", "write": "fz_write"}
        if w[0] == "exit":
            body.append("    fz_finish(1);")
        else:
            body.append("    %s(%s);" % (call[w[0]], args))
    return ("/* %s: found by the differential fuzzer (tools/fuzz), minimised.\n%s */\n"
            "#include \"fuzzlib.h\"\n\nint main(void)\n{\n"
            "    /* Its own scratch directory, as the fuzzer gives every program. */\n"
            "    char dir[] = \"/tmp/pysentry-%s.XXXXXX\";\n"
            "    if (!mkdtemp(dir) || chdir(dir))\n        return 1;\n"
            "    setvbuf(stdout, NULL, _IOLBF, 0);\n    fz_init();\n%s\n    fz_finish(0);\n"
            "    return 0;\n}\n" % (name, comment, name, "\n".join(body)))


def cmd_show(args):
    interp = build()
    script = gen.program(args.seed)
    print(script)
    d = diverges(interp, script)
    if d is None:
        print("# no divergence")
        return 0
    import difflib
    print("\n".join(difflib.unified_diff(d[0] or [], d[1], "linux", "pysentry", lineterm="")))
    return 1


def cmd_min(args):
    interp = build()
    script = gen.program(args.seed)
    if not diverges(interp, script):
        print("seed %d does not diverge" % args.seed)
        return 0
    small = minimise(interp, script)
    print(small)
    d = diverges(interp, small)
    import difflib
    diff = "\n".join(difflib.unified_diff(d[0] or [], d[1], "linux", "pysentry", lineterm=""))
    print(diff)
    if args.emit:
        path = os.path.join(REPO, "tests", "c", args.emit + ".c")
        with open(path, "w") as f:
            f.write(to_c(args.emit, small, " * seed %d; script:\n *   %s" % (
                args.seed, small.strip().replace("\n", "\n *   "))))
        print("wrote", path)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--seeds", default="1-200")
    r.add_argument("--batch", type=int, default=100)
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--timeout", type=int, default=120)
    r.add_argument("--par", type=int, default=PAR,
                   help="programs an interpreter runs at once (default %(default)s)")
    r.add_argument("--log", help="append a JSON summary line to this file")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--host-uring-off", action="store_true",
                   help="sandboxed runs with kernel.io_uring_disabled=2 (root; --jobs 1)")
    s = sub.add_parser("show")
    s.add_argument("seed", type=int)
    m = sub.add_parser("min")
    m.add_argument("seed", type=int)
    m.add_argument("--emit", metavar="NAME")
    args = ap.parse_args()
    return {"run": cmd_run, "show": cmd_show, "min": cmd_min}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
