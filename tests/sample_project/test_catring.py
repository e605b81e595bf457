"""The sample project's tests: its io_uring program under pysentry, with
faults injected into its completions."""
import pytest

CHUNK = 4096


def test_copies_the_file(sandbox, catring, data):
    res = sandbox.run(catring, "cat", data, CHUNK).check()
    assert res.stdout == data.read_text()
    reads = res.cqes("READ")
    # 20,000 bytes: four full reads, one of 3,616, then end of file.
    assert [c["res"] for c in reads] == [4096, 4096, 4096, 4096, 3616, 0]
    assert [c["user_data"] for c in reads] == [1, 2, 3, 4, 5, 6]
    assert res.stats["READ"]["calls"] == 6 and res.stats["READ"]["errors"] == 0


@pytest.mark.pysentry(inject=["op=READ,nth=3:errno=EIO"])
def test_reports_eio_on_the_third_read(sandbox, catring, data):
    res = sandbox.run(catring, "cat", data, CHUNK)
    assert res.returncode == 1
    assert res.stderr == "read #3 at offset 8192: Input/output error\n"
    assert res.stdout == data.read_text()[:8192]
    (fault,) = res.injected()
    assert (fault["op"], fault["user_data"], fault["res"], fault["injected"]) == \
        ("READ", 3, -5, "-EIO")


@pytest.mark.pysentry(inject=["op=READ:short=1000"])
def test_survives_short_reads(sandbox, catring, data):
    res = sandbox.run(catring, "cat", data, CHUNK).check()
    assert res.stdout == data.read_text()
    assert [c["res"] for c in res.cqes("READ")] == [1000] * 20 + [0]
    assert res.stderr == "20000 bytes in 21 reads\n"


def test_a_delay_shows_in_the_latency(sandbox, catring, data):
    res = sandbox.run(catring, "cat", data, CHUNK, inject=["op=READ,nth=2:delay=200"]).check()
    assert res.stdout == data.read_text()
    second = res.cqes("READ")[1]
    assert second["injected"] == "delay=200" and second["latency"] >= 0.2


def test_seeded_faults_repeat(sandbox, catring, data):
    rule = "op=READ,prob=0.3,seed=11:errno=EAGAIN"
    first = sandbox.run(catring, "cat", data, 1000, inject=[rule])
    again = sandbox.run(catring, "cat", data, 1000, inject=[rule])
    assert first.returncode == again.returncode == 1
    assert first.stderr == again.stderr
    assert first.stderr.endswith(": Resource temporarily unavailable\n")


@pytest.mark.pysentry(inject=["op=NOP,every=2:reorder"])
def test_reordered_completions(sandbox, catring):
    res = sandbox.run(catring, "nops", 8).check()
    # Odd ones in order, then the held even ones in reverse.
    assert res.stdout == "overflowed: 0\norder: 1:0 3:0 5:0 7:0 8:0 6:0 4:0 2:0\n"


@pytest.mark.pysentry(inject=["op=NOP,nth=1:overflow"])
def test_forced_overflow_is_flushed_in_order(sandbox, catring):
    res = sandbox.run(catring, "nops", 8).check()
    assert res.stdout == "overflowed: 1\norder: 1:0 2:0 3:0 4:0 5:0 6:0 7:0 8:0\n"


@pytest.mark.pysentry(host_io_uring="off")
def test_runs_where_the_host_has_io_uring_off(sandbox, catring, data):
    native = sandbox.native(catring, "cat", data, CHUNK)
    assert native.returncode == 2
    assert native.stderr == "io_uring_queue_init: Operation not permitted\n"
    res = sandbox.run(catring, "cat", data, CHUNK).check()
    assert res.stdout == data.read_text()
