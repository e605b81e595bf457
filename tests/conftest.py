"""pytest configuration: make tests/harness.py importable, and the fixture
that runs a test with the C data plane on and off."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# tests/sample_project is a project of its own, run by test_sample_project.py
# as its CI would run it (its own rootdir and pytest.ini).
collect_ignore = ["sample_project"]


@pytest.fixture(params=["dataplane-on", "dataplane-off"])
def dataplane_on_and_off(request, monkeypatch):
    """Run a test with the C data plane on (the default) and forced off: a
    fix to a hot op (NOP, READ/WRITE and their vectored and fixed forms,
    FSYNC) must hold on both paths.  run_sandbox passes os.environ on."""
    monkeypatch.setenv("PYSENTRY_DATAPLANE", "1" if request.param == "dataplane-on" else "0")
