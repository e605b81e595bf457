"""Entry point shim: the CLI itself lives in pysentry.sentry.cli."""


def main(argv=None):
    from pysentry.sentry.cli import main as _main
    return _main(argv)
