"""The opcode table (sentry/iouring/opdef.py) is the one place an op is
described: the probe is generated from it (tests/test_sandbox_ring_basics.py
checks the sandbox reports exactly it), its import-time check refuses an
inconsistent entry, and docs/io_uring.md's op table names every op it holds
and no other."""
import os
import re

import pytest

from harness import REPO
from pysentry.sentry.iouring import abi, nop, opdef


def _doc_ops():
    text = open(os.path.join(REPO, "docs", "io_uring.md")).read()
    section = text[text.index("## Ops"):text.index("## SQE flags")]
    names = set()
    for row in re.findall(r"^\| (.*?) \|", section, re.M):
        names.update(re.findall(r"`([A-Z_0-9]+)`", row))
    return names


def test_docs_op_table_names_exactly_the_implemented_ops():
    implemented = {d.name for d in opdef.OPS.values()}
    assert _doc_ops() == implemented


def test_iopoll_ops_are_linuxs():
    # io_uring/opdef.c marks these .iopoll = 1 (of the ops implemented here).
    linux = {"NOP", "READV", "WRITEV", "READ_FIXED", "WRITE_FIXED", "FILES_UPDATE", "READ",
             "WRITE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "MSG_RING", "READV_FIXED",
             "WRITEV_FIXED", "URING_CMD"}
    assert {d.name for d in opdef.OPS.values() if d.iopoll} == linux


def test_an_inconsistent_entry_fails_the_table_check(monkeypatch):
    monkeypatch.setitem(opdef.OPS, abi.OP_NOP, opdef.OpDef("READ", nop.prep, nop.issue))
    with pytest.raises(AssertionError):
        opdef._check_table()
    monkeypatch.setitem(opdef.OPS, abi.OP_NOP,
                        opdef.OpDef("NOP", nop.prep, nop.issue, buffer_select=True))
    with pytest.raises(AssertionError):
        opdef._check_table()
