"""The entry-size setup flags against Linux 6.18 (tests/c/big_entries.c):
IORING_SETUP_SQE128, CQE32 and CQE_MIXED accepted with Linux's errors
(CQE32|CQE_MIXED, a one-slot mixed CQ; SQE_MIXED is not in 6.18),
NOP/READ/WRITE/URING_CMD on 128-byte SQEs, big_cqe[] zeroed or filled by
IORING_NOP_CQE32, padding CQEs on a mixed CQ, overflow of 32-byte CQEs,
and an SQ thread on such rings -- with the C data plane on and off."""
import re

import pytest

from harness import check, run_sandbox, same_as_native

MODES = {"on": {"PYSENTRY_DATAPLANE": "1"}, "off": {"PYSENTRY_DATAPLANE": "0"}}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_big_entries_match_linux(tmp_path, mode):
    out = same_as_native("big_entries", tmp_path / "s.dat", native_args=[tmp_path / "n.dat"],
                         env=MODES[mode]).splitlines()
    assert "setup CQE32|CQE_MIXED: -22 EINVAL" in out
    assert "setup SQE_MIXED: -22 EINVAL" in out
    assert "setup CQE_MIXED cq=1: -75 EOVERFLOW" in out
    assert "setup CQE32: sq=8 cq=16 flags=0x800 array-cqes=576" in out
    # NOP_CQE32 without 32-byte CQEs fails its prep and ends the batch
    # before the URING_CMD after it.
    assert "sqe128 slot 4: ud=6 res=-22 EINVAL flags=0" in out
    assert "sqe128 read \"3456789abc\" sockopt value=-1" in out
    assert "cqe32 read \"3456789abc\" sockopt value=1" in out
    # Stale bytes in big_cqe[] are overwritten with zeros.
    assert "cqe32 slot 3: ud=4 res=10 flags=0 big=0,0" in out
    assert "cqe32 slot 4: ud=6 res=0 flags=0 big=0x1111,0x2222" in out
    assert "mixed slot 4: ud=6 res=0 flags=0x8000 big=0x1111,0x2222" in out
    assert "mixed slot 6: ud=5 res=4 flags=0" in out
    assert "mixed slot 3: ud=0 res=0 flags=0x20" in out           # padding
    assert "mixed slot 0: ud=16 res=0 flags=0x8000 big=0x1000,0x100000" in out
    assert "cqe32 ovf slot 1: ud=13 res=0 flags=0 big=0x103,0x203" in out
    assert "plain slot 0: ud=20 res=-22 EINVAL flags=0" in out
    assert "sqpoll sqe128+mixed slot 2: ud=3 res=0 flags=0x8000 big=0xabc,0xdef" in out
    assert "ZCRX_IFQ on CQE32: -22 EINVAL" in out
    assert "ZCRX_IFQ on CQE_MIXED|DEFER_TASKRUN: -14 EFAULT" in out
    assert "QUERY: 0 result=0 setup SQE128=1 CQE32=1 CQE_MIXED=1 SQE_MIXED=0" in out
    assert out[-1] == "done"


def test_trace_shows_32_byte_cqes(tmp_path):
    proc = run_sandbox("big_entries", tmp_path / "s.dat", options=["--trace-uring"])
    check(proc)
    assert "flags=F_32 extra=0x1111,0x2222" in proc.stderr


def test_the_data_plane_runs_on_big_entry_rings(tmp_path):
    # NOPs, READs and WRITEs on 128-byte-SQE and 32-byte/mixed-CQE rings are
    # the data plane's (in io_uring_enter or the SQ thread, whichever
    # reaches the SQPOLL rings' SQEs first); NOP_CQE32 and URING_CMD are
    # Python's.
    proc = run_sandbox("big_entries", tmp_path / "s.dat", options=["--stats"],
                       env={"PYSENTRY_DATAPLANE": "1"})
    check(proc)
    m = re.search(r"data plane: (\d+) SQEs in C", proc.stderr)
    assert m, proc.stderr
    assert int(m.group(1)) >= 25
