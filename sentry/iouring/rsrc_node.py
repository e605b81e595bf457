"""Resource tags: a tagged registered file or buffer, and its tag CQE.

IORING_REGISTER_FILES2/BUFFERS2 and the *_UPDATE2 calls may give each slot a
u64 tag (IORING_FEAT_RSRC_TAGS).  When a tagged resource leaves its slot --
replaced by an update, or unregistered -- Linux posts a CQE with the tag as
user_data (res 0, flags 0), but only once no request still uses it: each
request that took the resource holds its io_rsrc_node until it completes.
An RsrcNode is that node: a slot without a tag has none, so untagged tables
cost nothing per request.
"""


class RsrcNode:
    __slots__ = ("ring", "tag", "users", "removed")

    def __init__(self, ring, tag):
        self.ring = ring
        self.tag = tag
        self.users = 0            # requests in flight that took this resource
        self.removed = False      # it has left its slot

    def get(self):
        self.users += 1
        return self

    def put(self):
        self.users -= 1
        if self.removed and not self.users:
            self._post()

    def remove(self):
        self.removed = True
        if not self.users:
            self._post()

    def _post(self):
        ring = self.ring
        if not ring.closed:
            ring.post(self.tag, 0, 0)
            ring.notify()


def read_tags(task, addr, count):
    """The u64 tags array (addr 0: no tags)."""
    if not addr:
        return [0] * count
    import struct
    return list(struct.unpack("<%dQ" % count, task.mem.read(addr, 8 * count)))
