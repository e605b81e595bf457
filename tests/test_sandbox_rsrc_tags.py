"""Resource tags against Linux (tests/c/rsrc_tags.c): FILES2/FILES_UPDATE2
and BUFFERS2/BUFFERS_UPDATE with tags, sparse buffers; a tagged resource
posts its tag CQE when it leaves its slot, after the requests using it."""
from harness import same_as_native


def test_resource_tags_match_linux():
    out = same_as_native("rsrc_tags").splitlines()
    assert out[0] == "FEAT_RSRC_TAGS: 1"
    assert "after update: [ud=111 res=0 flags=0]" in out
    assert "while the read waits: none" in out
    assert "after the read completes: [ud=7 res=1 flags=0] [ud=333 res=0 flags=0]" in out
    assert "a tag on an empty slot: -22" in out
    assert "after unregister: [ud=222 res=0 flags=0]" in out
    assert "after buffer update: [ud=444 res=0 flags=0]" in out
    assert out[-1] == "after buffer unregister: [ud=666 res=0 flags=0]"
