"""The Sentry's mount table: which host directory backs each guest path.

Stage 1 has the root mount (guest / -> host /) plus any bind mounts added with
MountTable.add().  Lookup is by longest whole-component prefix, as Linux picks
the deepest mount covering a path.
"""


def _is_under(path, prefix):
    if prefix == b"/":
        return path.startswith(b"/")
    return path == prefix or path.startswith(prefix + b"/")


class Mount:
    __slots__ = ("guest_path", "host_path", "readonly")

    def __init__(self, guest_path, host_path, readonly=False):
        self.guest_path = guest_path
        self.host_path = host_path
        self.readonly = readonly

    def to_host(self, guest):
        rest = guest[len(self.guest_path):] if self.guest_path != b"/" else guest
        if self.host_path == b"/":
            return rest if rest.startswith(b"/") else b"/" + rest
        return self.host_path + rest if rest else self.host_path


class MountTable:
    def __init__(self, root=None):
        self.mounts = [root or Mount(b"/", b"/")]

    def add(self, guest_path, host_path, readonly=False):
        m = Mount(guest_path.rstrip(b"/") or b"/", host_path.rstrip(b"/") or b"/", readonly)
        self.mounts.append(m)
        self.mounts.sort(key=lambda x: len(x.guest_path), reverse=True)
        return m

    def lookup(self, guest):
        for m in sorted(self.mounts, key=lambda x: len(x.guest_path), reverse=True):
            if _is_under(guest, m.guest_path):
                return m, m.to_host(guest)
        raise LookupError(guest)

    def guest_of_host(self, host):
        best = None
        for m in self.mounts:
            if _is_under(host, m.host_path) and (best is None
                                                 or len(m.host_path) > len(best.host_path)):
                best = m
        if best is None:
            return None
        rest = host[len(best.host_path):] if best.host_path != b"/" else host
        if best.guest_path == b"/":
            return rest if rest.startswith(b"/") else b"/" + rest
        return best.guest_path + rest if rest else best.guest_path
