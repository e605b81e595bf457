"""A wheel built from the tree installs and runs like any package.

`pip wheel .`, then `pip install` of that wheel into a fresh virtual
environment (its dependencies from PyPI, as a user would get them), then
`pysentry run` from another directory: the io_uring demo must print what it
prints under the checkout's pysentry.  Only the four components become
pysentry subpackages; nothing else of the checkout is importable."""
import os
import subprocess
import sys

from harness import REPO, check

DEMO_SRC = os.path.join(REPO, "tools", "demo", "uring_demo.c")


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    wheels, venv, elsewhere = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    check(subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", REPO,
                          "-w", str(wheels)], capture_output=True, text=True, timeout=300))
    (wheel,) = wheels.iterdir()
    check(subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True,
                         text=True, timeout=120))
    pip = str(venv / "bin" / "pip")
    check(subprocess.run([pip, "install", "-q", "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=600))
    demo = str(tmp_path / "uring_demo")
    check(subprocess.run(["gcc", "-O2", "-o", demo, DEMO_SRC, "-luring"], capture_output=True,
                         text=True))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")      # where its C hot paths get built
    installed = subprocess.run([str(venv / "bin" / "pysentry"), "run", "--", demo],
                               capture_output=True, text=True, cwd=elsewhere, env=env,
                               timeout=300)
    from_checkout = subprocess.run([sys.executable, "-m", "pysentry", "run", "--", demo],
                                   capture_output=True, text=True, cwd=REPO, timeout=300)
    assert check(installed) == check(from_checkout)
    assert "demo finished: all io_uring requests completed correctly" in installed.stdout
    assert "C hot paths unavailable" not in installed.stderr
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import importlib.util as u; "
                            "print([bool(u.find_spec('pysentry.' + m)) for m in "
                            "('sentry', 'platform', 'vfs', 'mm', 'tests', 'docs', 'tools')])"],
                           capture_output=True, text=True, cwd=elsewhere, env=env)
    assert check(probe).strip() == "[True, True, True, True, False, False, False]"
    # The pytest plugin is declared for pytest to find, and installed
    # (importing it needs pytest, which this venv does not have).
    plugin = subprocess.run([str(venv / "bin" / "python"), "-c",
                             "from importlib.metadata import entry_points; "
                             "import importlib.util as u; "
                             "print([e.value for e in entry_points(group='pytest11')], "
                             "bool(u.find_spec('pysentry.pytest_plugin')))"],
                            capture_output=True, text=True, cwd=elsewhere, env=env)
    assert check(plugin).strip() == "['pysentry.pytest_plugin'] True"


def test_checkout_does_not_shadow_the_standard_library():
    out = subprocess.run([sys.executable, "-c", "import platform; print(platform.system())"],
                         capture_output=True, text=True, cwd=REPO)
    assert check(out).strip() == "Linux"
