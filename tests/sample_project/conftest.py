"""The sample project's own conftest: it only builds the program under test.
The `sandbox` fixture and the `pysentry` marker come from pysentry's pytest
plugin, which installing pysentry enables."""
import os
import subprocess

import pytest

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "c", "inject_cat.c")


@pytest.fixture(scope="session")
def catring(tmp_path_factory):
    """The program under test: copies a file with io_uring READs
    (tests/c/inject_cat.c), reporting failed reads."""
    out = str(tmp_path_factory.mktemp("bin") / "catring")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", out, SOURCE, "-luring"], check=True)
    return out


@pytest.fixture
def data(tmp_path):
    """A 20,000-byte text file, every line numbered."""
    path = tmp_path / "data.txt"
    path.write_text("".join("line %05d of the sample data\n" % i for i in range(700))[:20000])
    return path
