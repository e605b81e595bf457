"""The Sentry's mount table: which host directory backs each guest path.

Role: translate between the guest's file-system namespace and the host's.
The table always has a root mount (guest ``/``; host ``/`` unless another root
is given) plus any bind mounts added with ``MountTable.add()``.

* ``lookup()`` maps a guest path to ``(Mount, host path)`` by the longest
  whole-component prefix: Linux's path walk crosses into the mount that is
  mounted deepest on the way (``follow_mount``/``__lookup_mnt``), so a mount at
  ``/a/b`` covers ``/a/b`` and ``/a/b/c`` but never ``/a/bc``.
* ``guest_of_host()`` is the reverse map, used to turn a host path the child
  holds (its cwd or a dirfd, read from ``/proc/<tid>/{cwd,fd/N}``) back into a
  guest path.
* Mounting twice on the same guest path stacks the mounts; as in Linux only the
  most recent one is visible.

All paths are ``bytes``: Linux paths are byte strings, not text.
"""


def normalize(path):
    """Return the absolute ``path`` with '//', '.' and '..' folded lexically.

    Only for configuring mounts: it is *not* a path walk (it ignores
    symlinks).  '..' at the root stays at the root, as in Linux where the
    parent of ``/`` is ``/``.
    """
    if not isinstance(path, bytes):
        raise TypeError("paths are bytes, got %r" % (type(path).__name__,))
    if not path.startswith(b"/"):
        raise ValueError("mount paths must be absolute: %r" % (path,))
    parts = []
    for name in path.split(b"/"):
        if not name or name == b".":
            continue
        if name == b"..":
            if parts:
                parts.pop()
            continue
        parts.append(name)
    return b"/" + b"/".join(parts)


def is_under(path, prefix):
    """True if normalized absolute ``path`` is ``prefix`` or below it (whole components)."""
    if prefix == b"/":
        return path.startswith(b"/")
    return path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == 0x2F)


def _rebase(path, old, new):
    """``path`` (at or below ``old``) re-rooted from ``old`` onto ``new``."""
    if path == old:
        return new
    rest = path[len(old):] if old != b"/" else path
    # rest starts with b"/".
    return rest if new == b"/" else new + rest


class Mount:
    """A guest directory backed by a host directory (a bind mount)."""

    __slots__ = ("guest_path", "host_path", "readonly")

    def __init__(self, guest_path, host_path, readonly=False):
        self.guest_path = normalize(guest_path)
        self.host_path = normalize(host_path)
        self.readonly = bool(readonly)

    def to_host(self, guest_path):
        """Host path of ``guest_path``, which must be at or below this mount."""
        return _rebase(guest_path, self.guest_path, self.host_path)

    def to_guest(self, host_path):
        """Guest path of ``host_path``, which must be at or below ``self.host_path``."""
        return _rebase(host_path, self.host_path, self.guest_path)

    def __repr__(self):
        return "Mount(%r -> %r%s)" % (self.guest_path, self.host_path,
                                      ", ro" if self.readonly else "")


class MountTable:
    """The set of mounts the guest sees."""

    def __init__(self, root=None):
        if root is None:
            root = Mount(b"/", b"/")
        if root.guest_path != b"/":
            raise ValueError("the root mount must be mounted at guest '/'")
        self.root = root
        # guest mount point -> visible (most recently added) Mount.
        self._by_guest = {b"/": root}
        # Guest directories strictly above some mount point (other than '/'):
        # the path walk may pass through them even if the parent mount's host
        # directory lacks them, as the Sentry creates no mount points on the host.
        self._above_mounts = set()
        # Every mount, newest first; hidden (over-mounted) ones included so
        # that guest_of_host can still prefer the visible one.
        self.mounts = [root]

    def add(self, guest_path, host_path, readonly=False):
        """Bind host_path at guest_path; returns the new Mount."""
        mount = Mount(guest_path, host_path, readonly)
        if mount.guest_path == b"/":
            self.root = mount
        self._by_guest[mount.guest_path] = mount
        self.mounts.insert(0, mount)
        path = mount.guest_path
        while True:
            cut = path.rfind(b"/")
            if cut <= 0:
                break
            path = path[:cut]
            self._above_mounts.add(path)
        return mount

    def is_identity(self):
        """True if the guest namespace is the host's: only '/' -> '/'."""
        return len(self.mounts) == 1 and self.root.host_path == b"/"

    def is_mount_ancestor(self, guest_path):
        """True if some mount point lies strictly below guest_path (not '/')."""
        return guest_path in self._above_mounts

    def mount_at(self, guest_path):
        """The Mount whose mount point is exactly ``guest_path`` (normalized), or None.

        The path walk uses this on each step down, so that it only has to
        look a mount up when it actually crosses a mount point.
        """
        return self._by_guest.get(guest_path)

    def lookup(self, guest_path):
        """``(Mount, host_path)`` for a normalized absolute guest path.

        The deepest mount point that is a whole-component prefix wins.
        """
        if not guest_path.startswith(b"/"):
            raise ValueError("guest path must be absolute: %r" % (guest_path,))
        by_guest = self._by_guest
        prefix = guest_path
        while True:
            mount = by_guest.get(prefix)
            if mount is not None:
                return mount, mount.to_host(guest_path)
            cut = prefix.rfind(b"/")
            prefix = prefix[:cut] if cut > 0 else b"/"

    def guest_of_host(self, host_path):
        """Guest path that reaches ``host_path``, or None if no mount covers it.

        The mount with the longest host prefix wins; among equals, a visible
        mount beats an over-mounted one, then the newest.
        """
        best = None
        for mount in self.mounts:
            if not is_under(host_path, mount.host_path):
                continue
            if best is None or len(mount.host_path) > len(best.host_path) or (
                    len(mount.host_path) == len(best.host_path)
                    and not self._visible(best) and self._visible(mount)):
                best = mount
        if best is None:
            return None
        return best.to_guest(host_path)

    def _visible(self, mount):
        return self._by_guest.get(mount.guest_path) is mount

    def __iter__(self):
        return iter(self.mounts)

    def __repr__(self):
        return "MountTable(%r)" % (self.mounts,)
