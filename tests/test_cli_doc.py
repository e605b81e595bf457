"""docs/cli.md is generated from the argument parser and must be current."""
import subprocess
import sys

from harness import REPO


def test_cli_manual_matches_the_parser():
    proc = subprocess.run([sys.executable, "tools/gen_cli_doc.py", "--check"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_completion_script_lists_every_command_and_option():
    proc = subprocess.run([sys.executable, "-m", "pysentry", "completion"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert 'compgen -W "run syscalls completion report --help --version"' in proc.stdout
    assert "--inject" in proc.stdout and "--trace-format" in proc.stdout
    check = subprocess.run(["bash", "-n"], input=proc.stdout, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr
