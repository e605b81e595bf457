"""pytest configuration: make tests/harness.py importable."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# tests/sample_project is a project of its own, run by test_sample_project.py
# as its CI would run it (its own rootdir and pytest.ini).
collect_ignore = ["sample_project"]
