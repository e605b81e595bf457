"""Entry point shim: the CLI itself lives in pysentry.sentry.cli."""
import os
import sys


def main(argv=None):
    from pysentry.sentry.cli import main as _main
    try:
        return _main(argv)
    except BrokenPipeError:
        # `pysentry ... | head`: stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
