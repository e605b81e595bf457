"""The `pysentry` command line."""
import argparse
import os
import shutil
import signal
import sys

DESCRIPTION = """\
pysentry runs an unmodified Linux x86-64 program inside a Python application
kernel (the "Sentry").  The program's system calls are trapped with ptrace and
seccomp; io_uring (io_uring_setup/enter/register) is always served by the
Sentry itself, never by the host kernel, so io_uring programs run even where
the host has io_uring disabled or blocked (inside a default container too).
File I/O goes through the Sentry's VFS, and io_uring path ops through its
fd-based path walk; everything else runs on the host.
"""

RUN_EPILOG = """\
The sandbox lives as long as the program's first process: when it exits,
processes it left behind are killed (as in a container), unless --wait-all is
given.  If pysentry itself is interrupted or killed, so is the whole program.

exit status: the program's own; 128+N if it was killed by signal N (as a
shell reports it); 127 if it could not be started; 126 if not executable.

errors about pysentry itself (not the program's) are printed prefixed with
"pysentry:" on stderr.

examples:
  pysentry run -- ./my_uring_prog arg1 arg2
  pysentry run --trace-uring -- fio --ioengine=io_uring ...
  pysentry run --trace-uring --trace-format json -o t.jsonl -- ./prog && pysentry report t.jsonl
  pysentry run --stats -- ./prog          # per-opcode counts, errors, latency at exit
  pysentry run --inject 'op=READ,nth=3:errno=EIO' -- ./prog
  pysentry run --check                    # what this host lets the Sentry use
  pysentry syscalls                       # how each syscall number is handled
"""


def _parser():
    p = argparse.ArgumentParser(prog="pysentry", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version="pysentry 0.1.0")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run a program in the sandbox",
                         description="Run PROGRAM with ARGS inside the Sentry.",
                         epilog=RUN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--trace-uring", action="store_true",
                     help="print every io_uring setup, enter, register, SQE and CQE, strace-"
                          "style (decoded flags, fds and paths, data, errno names, latency), to "
                          "stderr or -o FILE")
    run.add_argument("--trace-format", choices=("text", "json"), default="text",
                     help="text (strace-like lines, the default) or json (one JSON object per "
                          "event, for tools and `pysentry report`)")
    run.add_argument("--trace-syscalls", action="store_true",
                     help="print every syscall the Sentry serves")
    run.add_argument("-o", "--trace-file", metavar="FILE",
                     help="write traces to FILE instead of stderr")
    run.add_argument("--stats", action="store_true",
                     help="at exit, an strace -c style table: per io_uring opcode the count, "
                          "errors and median/p99 latency; SQEs per io_uring_enter; how many "
                          "SQEs the C data plane ran; how many times each trapped syscall ran")
    run.add_argument("--inject", action="append", default=[], metavar="RULE",
                     help="fault injection (repeatable): make chosen requests complete "
                          "otherwise, e.g. 'op=READ,nth=3:errno=EIO', 'op=WRITE,every=2:short=1', "
                          "'path=data,prob=0.1,seed=7:delay=50', 'op=NOP:overflow', "
                          "'op=READ:reorder'.  Turns the C data plane off.  See docs/cli.md")
    run.add_argument("--wait-all", action="store_true",
                     help="when the first process exits, keep serving the processes it left "
                          "behind until they exit too (the exit status stays the first "
                          "process's)")
    run.add_argument("--cpu-policy", metavar="POLICY", default="auto", type=_cpu_policy,
                     help="where the Sentry and the program run (docs/performance.md): "
                          "'auto' (default) keeps the Sentry beside the thread that makes "
                          "the syscalls, on one CPU, so a trap needs no cross-CPU wake-up; "
                          "'pin:N' puts the Sentry and every program thread on CPU N; "
                          "'none' leaves placement to the host scheduler")
    run.add_argument("--check", action="store_true",
                     help="print which host mechanisms the Sentry can use here (a default "
                          "container refuses some) and which path it takes for each; "
                          "with no PROGRAM, stop there")
    run.add_argument("program", metavar="PROGRAM", nargs="?",
                     help="the program to run (searched in PATH)")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    sub.add_parser("syscalls", help="list how the Sentry handles each syscall number")
    sub.add_parser("completion", help="print a bash completion script "
                                      "(eval \"$(pysentry completion)\")")
    rep = sub.add_parser("report", help="an HTML page with charts from a JSON io_uring trace",
                         description="Draw queue depth per ring, latency per opcode, SQEs per "
                                     "enter and the opcode mix from TRACE (written by `pysentry "
                                     "run --trace-uring --trace-format json -o TRACE`) into "
                                     "DIR/index.html and PNG files beside it.",
                         epilog="example:\n  pysentry run --trace-uring --trace-format json -o "
                                "t.jsonl -- fio job.fio\n  pysentry report t.jsonl -o report/",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("trace", metavar="TRACE", help="a JSON-lines trace")
    rep.add_argument("-o", "--output", metavar="DIR",
                     help="where to write (default: TRACE's name with -report)")
    return p


def _cpu_policy(text):
    from pysentry.platform.placement import parse_policy
    try:
        parse_policy(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("%s: %s" % (text, e))
    return text


def _find_program(name):
    if "/" in name:
        return name
    found = shutil.which(name)
    return found or name


def _exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    sig = os.WTERMSIG(status)
    if sig not in (signal.SIGINT, signal.SIGPIPE):
        # A shell reports death by signal; so do we, on stderr.
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "signal %d" % sig
        core = " (core dumped)" if os.WCOREDUMP(status) else ""
        sys.stderr.write("pysentry: program killed by %s%s\n" % (name, core))
    return 128 + sig


def _list_syscalls():
    from pysentry.sentry.syscalls import table
    for abi, entries in table.TABLES.items():
        for nr, e in sorted(entries.items()):
            if e.disposition != table.HOST or abi == "x86_64":
                extra = " errno=%d" % e.errno if e.disposition == table.DENY else ""
                print("%-6s %4d %-24s %s%s" % (abi, nr, e.name, e.disposition, extra))
    return 0


def _completion(parser):
    """A bash completion function built from the parser itself."""
    subs = next(a for a in parser._actions if a.dest == "command")
    cases = []
    for name, sub in subs.choices.items():
        opts = " ".join(o for a in sub._actions for o in a.option_strings)
        cases.append('        %s) opts="%s" ;;' % (name, opts))
    return """_pysentry() {
    local cur=${COMP_WORDS[COMP_CWORD]} opts
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "%s --help --version" -- "$cur")); return
    fi
    case ${COMP_WORDS[1]} in
%s
    esac
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _pysentry pysentry""" % (" ".join(subs.choices), "\n".join(cases))


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "syscalls":
        return _list_syscalls()
    if args.command == "completion":
        print(_completion(_parser()))
        return 0
    if args.command == "report":
        from pysentry.sentry import report
        outdir = args.output or os.path.splitext(args.trace)[0] + "-report"
        try:
            print(report.write(args.trace, outdir))
        except (OSError, ValueError, KeyError) as e:
            sys.stderr.write("pysentry: report: %s: %s\n" % (args.trace, e))
            return 1
        return 0
    if args.command != "run":
        _parser().print_help()
        return 2
    prog_args = args.args
    if prog_args and prog_args[0] == "--":
        prog_args = prog_args[1:]
    if args.program == "--" and prog_args:
        args.program, prog_args = prog_args[0], prog_args[1:]
    if args.check:
        from pysentry.platform.placement import Placement
        from pysentry.sentry.hostcaps import HostCaps
        lines = HostCaps().lines()
        try:
            lines.append("  %-20s %s" % ("cpu placement", Placement(args.cpu_policy).describe()))
        except ValueError as e:
            lines.append("  %-20s refused: %s" % ("cpu placement", e))
        print("\n".join(lines), flush=True)
        if args.program is None:
            return 0
    if args.program is None:
        _parser().error("run: PROGRAM is required")
    path = _find_program(args.program)
    if not os.path.exists(path):
        sys.stderr.write("pysentry: %s: No such file or directory\n" % args.program)
        return 127
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        sys.stderr.write("pysentry: %s: Permission denied (not an executable file)\n" % path)
        return 126
    trace_out = open(args.trace_file, "w") if args.trace_file else sys.stderr

    from pysentry.sentry.iouring.trace import Stats, UringTrace
    from pysentry.sentry.kernel import Kernel
    from pysentry.platform import interrupt
    stats = Stats() if args.stats else None
    uring_trace = None
    if args.trace_uring or stats is not None:
        uring_trace = UringTrace(trace_out if args.trace_uring else None, args.trace_format, stats)
    injector = None
    if args.inject:
        from pysentry.sentry.iouring.inject import Injector
        try:
            injector = Injector(args.inject, uring_trace)
        except ValueError as e:
            sys.stderr.write("pysentry: --inject: %s\n" % e)
            return 2
    try:
        kernel = Kernel(trace_uring=uring_trace, injector=injector,
                        trace_syscalls=trace_out if args.trace_syscalls else None,
                        cpu_policy=args.cpu_policy)
    except ValueError as e:
        sys.stderr.write("pysentry: --cpu-policy: %s\n" % e)
        return 2
    kernel.tracer.wait_all = args.wait_all
    interrupted = interrupt.install()
    snaps = []
    if stats is not None:
        from pysentry.sentry import live
        snaps.append(("at start", live.snapshot(kernel)))
        kernel.tracer.on_root_exit = lambda: snaps.append(
            ("at program exit", live.snapshot(kernel)))
    # If the Sentry is interrupted or killed, PTRACE_O_EXITKILL kills the
    # program too: nothing keeps running unserved.  interrupt.py makes sure
    # a SIGINT wakes the trap loop even when it lands outside its waitpid
    # (installed before the first live snapshot: its pipe is the Sentry's).
    try:
        status = kernel.run(path, [args.program] + prog_args, dict(os.environ))
    except KeyboardInterrupt:
        if interrupted is not None:
            interrupted.set()
        sys.stderr.write("pysentry: interrupted; the program was killed\n")
        return 130
    finally:
        if stats is not None:
            from pysentry.sentry.iouring import dataplane
            for line in stats.lines(kernel.stats, dataplane.stats(kernel)):
                sys.stderr.write("pysentry: %s\n" % line)
            snaps.append(("after teardown", live.snapshot(kernel)))
            for label, snap in snaps:
                sys.stderr.write("pysentry: %s\n" % live.line(label, snap))
        if trace_out is not sys.stderr:
            trace_out.close()
    return _exit_code(status)
