"""Unit tests for the CPU placement policy's decisions (platform/placement.py),
with the host's affinity calls recorded instead of made."""
import pytest

from pysentry.platform import placement as pl


class FakeTask:
    def __init__(self, tid):
        self.tid = tid
        self.affinity = frozenset()
        self.host_affinity = None
        self.stops = 0


class FakeSq:
    def __init__(self):
        self.cpus = None

    def set_affinity(self, cpus):
        self.cpus = set(cpus)


@pytest.fixture
def host(monkeypatch):
    """tid -> the last mask set; the Sentry runs on CPUs 0-3, now on CPU 2."""
    masks = {}
    monkeypatch.setattr(pl, "_set", lambda tid, cpus: masks.__setitem__(tid, set(cpus)) or True)
    monkeypatch.setattr(pl, "_getaffinity", lambda tid: masks.get(tid, {0, 1, 2, 3}))
    monkeypatch.setattr(pl, "_this_cpu", lambda: 2)
    monkeypatch.setattr(pl, "_last_cpu", lambda tid: 2)
    monkeypatch.setattr(pl, "_thread_id", lambda: 100)
    monkeypatch.setattr(pl.Placement, "_watch", lambda self: None)
    return masks


def _look(p, stops, dt=0.1):
    """One look of the watchdog after the tasks made `stops` more stops."""
    for tid, n in stops.items():
        p.tasks[tid].stops += n
    p._now += dt
    p._look()


def _placement(kind="auto"):
    p = pl.Placement(kind)
    p._now = 1000.0
    p._clock = lambda: p._now
    return p


def test_policy_parsing():
    assert pl.parse_policy("auto") == ("auto", None)
    assert pl.parse_policy("none") == ("none", None)
    assert pl.parse_policy("pin:3") == ("pin", 3)
    for bad in ("", "pin:", "pin:-2", "all"):
        with pytest.raises(ValueError):
            pl.parse_policy(bad)


def test_first_thread_is_pinned_with_the_trap_loop_where_it_runs(host):
    p = _placement()
    root = FakeTask(10)
    p.start(root)
    assert p.cpu == 2 and p.hot is root
    assert host[100] == {2} and host[10] == {2}       # the trap loop and the thread
    assert root.affinity == {0, 1, 2, 3}               # its own mask is unchanged


def test_new_threads_keep_their_own_mask_and_sq_threads_float(host):
    p = _placement()
    root = FakeTask(10)
    p.start(root)
    sq = FakeSq()
    p.add_sq(sq)
    assert sq.cpus == {0, 1, 2, 3}               # it floats, whatever the trap loop does
    t = FakeTask(11)
    p.task_added(t, root)
    assert t.affinity == root.affinity and host[11] == {0, 1, 2, 3}


def test_hot_thread_follows_the_stops_and_several_hot_threads_float(host):
    p = _placement()
    root = FakeTask(10)
    p.start(root)
    worker = FakeTask(11)
    p.task_added(worker, root)
    assert p.hot is None and host[100] == {0, 1, 2, 3}   # a new thread: float first
    p._look()                                    # the first look only takes counts
    _look(p, {10: 5, 11: 500})                   # the worker makes the stops now
    assert p.hot is worker and host[11] == {p.cpu} and host[10] == {0, 1, 2, 3}
    _look(p, {10: 400, 11: 400})                 # both trap: parallelism wins
    assert p.hot is None and p.cpu is None
    assert host[10] == host[11] == host[100] == {0, 1, 2, 3}


def test_few_stops_float(host):
    p = _placement()
    root = FakeTask(10)
    p.start(root)
    p._look()
    _look(p, {10: 10})                           # 100 stops/s: the scheduler decides
    assert p.cpu is None and host[10] == {0, 1, 2, 3}


def test_program_setting_its_mask_is_followed(host):
    p = _placement()
    root = FakeTask(10)
    p.start(root)
    host[10] = {3}                               # the host ran sched_setaffinity({3})
    p.affinity_set(10)
    assert root.affinity == {3} and p.cpu == 3 and host[100] == {3}
    host[10] = {7}                               # outside the Sentry's CPUs
    p.affinity_set(10)
    assert p.cpu is None and host[10] == {7} and host[100] == {0, 1, 2, 3}


def test_pin_policy_pins_every_thread_but_sq_threads(host):
    p = _placement("pin:1")
    root = FakeTask(10)
    p.start(root)
    t = FakeTask(11)
    p.task_added(t, root)
    assert host[100] == host[10] == {1}
    assert t.host_affinity == {1} and 11 not in host     # copied at clone by the host
    sq = FakeSq()
    p.add_sq(sq)
    assert sq.cpus == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        pl.Placement("pin:9")


def test_none_touches_nothing(host):
    p = _placement("none")
    root = FakeTask(10)
    p.start(root)
    p.task_added(FakeTask(11), root)
    assert not p.active and host == {}
