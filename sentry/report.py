"""`pysentry report TRACE.jsonl`: an HTML page and PNG charts from a JSON trace.

The trace is what `pysentry run --trace-uring --trace-format json -o FILE`
writes (iouring/trace.py): one event per setup, register, enter, SQE and
CQE, each with a monotonic time `t`.  The report shows, from that alone:

* depth.png    per ring, the requests in flight over time (queue depth):
               +1 at each SQE, -1 at each final CQE (not one flagged MORE);
* latency.png  a latency histogram per opcode (submission to completion);
* enters.png   SQEs per io_uring_enter (the SQEs traced between one enter and
               the next; an SQPOLL ring's SQEs, taken with no enter, are
               counted apart);
* opmix.png    the opcode mix (SQEs per opcode);
* index.html   the four, and a table per opcode: calls, errors, median and
               p99 latency, faults injected.

matplotlib draws the charts (the `report` extra of the package).
"""
import html
import json
import os
import statistics


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Summary:
    """What the charts and the table are drawn from."""

    def __init__(self, events):
        self.t0 = min((e["t"] for e in events if "t" in e), default=0.0)
        self.depth = {}           # ring -> [(seconds, depth)]
        self.latency = {}         # op -> [microseconds]
        self.errors = {}
        self.injected = {}
        self.mix = {}             # op -> SQEs
        self.per_enter = []       # SQEs traced after each enter
        self.sqpoll_sqes = 0
        self._walk(events)

    def _walk(self, events):
        live = {}
        sqpoll = set()
        count = None
        for e in events:
            kind = e.get("ev")
            t = e.get("t", self.t0) - self.t0
            if kind == "setup" and "ring" in e and e.get("flags", 0) & 2:   # SETUP_SQPOLL
                sqpoll.add(e["ring"])
            elif kind == "enter":
                if count is not None:
                    self.per_enter.append(count)
                count = 0
            elif kind == "sqe":
                ring = e["ring"]
                self.mix[e["op"]] = self.mix.get(e["op"], 0) + 1
                if ring in sqpoll or count is None:
                    self.sqpoll_sqes += 1
                else:
                    count += 1
                live[ring] = live.get(ring, 0) + 1
                self.depth.setdefault(ring, [(0.0, 0)]).append((t, live[ring]))
            elif kind == "cqe":
                ring, op = e["ring"], e["op"]
                if e.get("latency") is not None:
                    self.latency.setdefault(op, []).append(e["latency"] * 1e6)
                if e["res"] < 0:
                    self.errors[op] = self.errors.get(op, 0) + 1
                if e.get("injected"):
                    self.injected[op] = self.injected.get(op, 0) + 1
                if not e.get("flags", 0) & 2 and op != "-":                # CQE_F_MORE
                    live[ring] = max(0, live.get(ring, 0) - 1)
                    self.depth.setdefault(ring, [(0.0, 0)]).append((t, live[ring]))
        if count is not None:
            self.per_enter.append(count)

    def rows(self):
        out = []
        for op, lat in sorted(self.latency.items(), key=lambda kv: -len(kv[1])):
            lat = sorted(lat)
            out.append((op, len(lat), self.errors.get(op, 0), statistics.median(lat),
                        lat[min(len(lat) - 1, int(len(lat) * 0.99))], self.injected.get(op, 0)))
        return out


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("pysentry report needs matplotlib: pip install 'pysentry[report]'")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _buckets(points, end, n=300):
    """A step function [(t, depth)] as the max and mean depth in each of n
    equal time buckets (a dense step plot is unreadable)."""
    width = end / n if end > 0 else 1.0
    hi = [0] * n
    area = [0.0] * n
    for (t, d), (t2, _) in zip(points, points[1:] + [(end, 0)]):
        b = min(n - 1, int(t / width))
        hi[b] = max(hi[b], d)
        while t < t2:                      # spread d over the buckets it spans
            b = min(n - 1, int(t / width))
            edge = min(t2, (b + 1) * width)
            area[b] += d * (edge - t)
            if edge <= t:
                break
            t = edge
    return [(i + 0.5) * width for i in range(n)], hi, [a / width for a in area]


def _depth(plt, s, path):
    fig, ax = plt.subplots(figsize=(9, 3.2))
    end = max((p[-1][0] for p in s.depth.values()), default=0.0)
    for ring, points in sorted(s.depth.items()):
        xs, hi, mean = _buckets(points, end)
        line, = ax.plot(xs, hi, linewidth=1, label="ring %d, max" % ring)
        ax.plot(xs, mean, linewidth=1, linestyle="--", color=line.get_color(),
                label="ring %d, mean" % ring)
    ax.set_xlabel("seconds since the first event")
    ax.set_ylabel("requests in flight")
    ax.set_title("Queue depth per ring")
    ax.set_ylim(bottom=0)
    if s.depth:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _latency(plt, s, path):
    ops = [op for op, *_ in s.rows()][:6]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if ops:
        lo = max(0.1, min(min(s.latency[op]) for op in ops))
        hi = max(max(s.latency[op]) for op in ops) * 1.01
        n = 40
        edges = [lo * (hi / lo) ** (i / n) for i in range(n + 1)] if hi > lo else [lo, lo * 2]
        for op in ops:
            ax.hist(s.latency[op], bins=edges, histtype="step", linewidth=1.5,
                    label="%s (%d)" % (op, len(s.latency[op])))
        ax.set_xscale("log")
        ax.legend(fontsize=8)
    ax.set_xlabel("latency, submission to completion (µs)")
    ax.set_ylabel("requests")
    ax.set_title("Latency per opcode")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _enters(plt, s, path):
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if s.per_enter:
        top = max(s.per_enter)
        counts = [0] * (top + 1)
        for c in s.per_enter:
            counts[c] += 1
        ax.bar(range(top + 1), counts, color="#4878a8")
    ax.set_xlabel("SQEs submitted by one io_uring_enter")
    ax.set_ylabel("io_uring_enter calls")
    ax.set_title("SQEs per enter (%d enters%s)" % (
        len(s.per_enter), ", %d SQEs taken by SQ polling" % s.sqpoll_sqes if s.sqpoll_sqes else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _opmix(plt, s, path):
    items = sorted(s.mix.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.35 * len(items) + 1)))
    if items:
        names, values = zip(*items)
        ax.barh(names, values, color="#d08040")
    ax.set_xlabel("SQEs")
    ax.set_title("Opcode mix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(trace_path, outdir):
    """Write index.html and the PNGs into outdir; return the page's path."""
    events = load(trace_path)
    s = Summary(events)
    plt = _pyplot()
    os.makedirs(outdir, exist_ok=True)
    charts = [("depth.png", _depth), ("latency.png", _latency), ("enters.png", _enters),
              ("opmix.png", _opmix)]
    for name, draw in charts:
        draw(plt, s, os.path.join(outdir, name))
    rows = "".join(
        "<tr><td>%s</td><td>%d</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%d</td></tr>"
        % (html.escape(op), n, err, med, p99, inj) for op, n, err, med, p99, inj in s.rows())
    span = max((e.get("t", 0) for e in events), default=0) - s.t0
    page = """<!doctype html>
<html><head><meta charset="utf-8"><title>pysentry io_uring report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:960px}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}
td:first-child{text-align:left}img{display:block;margin:1em 0}</style></head><body>
<h1>io_uring report</h1>
<p>%s: %d events over %.3f s, %d rings, %d SQEs, %d io_uring_enter calls.</p>
<table><tr><th>opcode</th><th>calls</th><th>errors</th><th>median µs</th><th>p99 µs</th>
<th>injected</th></tr>%s</table>
%s
</body></html>
""" % (html.escape(os.path.basename(trace_path)), len(events), span, len(s.depth),
       sum(s.mix.values()), len(s.per_enter), rows,
       "\n".join('<img src="%s" alt="%s">' % (name, name[:-4]) for name, _ in charts))
    index = os.path.join(outdir, "index.html")
    with open(index, "w") as f:
        f.write(page)
    return index
