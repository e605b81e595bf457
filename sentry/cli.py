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

examples:
  pysentry run -- ./my_uring_prog arg1 arg2
  pysentry run --trace-uring -- fio --ioengine=io_uring ...
  pysentry syscalls            # how each syscall number is handled
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
                          "times each trapped syscall ran")
    run.add_argument("--wait-all", action="store_true",
                     help="when the first process exits, keep serving the processes it left "
                          "behind until they exit too (the exit status stays the first "
                          "process's)")
    run.add_argument("--check", action="store_true",
                     help="print which host mechanisms the Sentry can use here (a default "
                          "container refuses some) and which path it takes for each; "
                          "with no PROGRAM, stop there")
    run.add_argument("program", metavar="PROGRAM", nargs="?",
                     help="the program to run (searched in PATH)")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    sub.add_parser("syscalls", help="list how the Sentry handles each syscall number")
    return p


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


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "syscalls":
        return _list_syscalls()
    if args.command != "run":
        _parser().print_help()
        return 2
    prog_args = args.args
    if prog_args and prog_args[0] == "--":
        prog_args = prog_args[1:]
    if args.program == "--" and prog_args:
        args.program, prog_args = prog_args[0], prog_args[1:]
    if args.check:
        from pysentry.sentry.hostcaps import HostCaps
        print("\n".join(HostCaps().lines()), flush=True)
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
    stats = Stats() if args.stats else None
    uring_trace = None
    if args.trace_uring or stats is not None:
        uring_trace = UringTrace(trace_out if args.trace_uring else None, args.trace_format, stats)
    kernel = Kernel(trace_uring=uring_trace,
                    trace_syscalls=trace_out if args.trace_syscalls else None)
    kernel.tracer.wait_all = args.wait_all
    snaps = []
    if stats is not None:
        from pysentry.sentry import live
        snaps.append(("at start", live.snapshot(kernel)))
        kernel.tracer.on_root_exit = lambda: snaps.append(
            ("at program exit", live.snapshot(kernel)))
    # If the Sentry is interrupted or killed, PTRACE_O_EXITKILL kills the
    # program too: nothing keeps running unserved.
    try:
        status = kernel.run(path, [args.program] + prog_args, dict(os.environ))
    except KeyboardInterrupt:
        sys.stderr.write("pysentry: interrupted; the program was killed\n")
        return 130
    finally:
        if stats is not None:
            for line in stats.lines(kernel.stats):
                sys.stderr.write("pysentry: %s\n" % line)
            snaps.append(("after teardown", live.snapshot(kernel)))
            for label, snap in snaps:
                sys.stderr.write("pysentry: %s\n" % live.line(label, snap))
        if trace_out is not sys.stderr:
            trace_out.close()
    return _exit_code(status)
