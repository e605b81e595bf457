"""RECVMSG receiving SCM_RIGHTS against Linux (tests/c/scm_rights.c): the
fds are installed in the receiver as task work, at the same numbers, with
MSG_CMSG_CLOEXEC honoured and only as many as msg_control holds."""
from harness import same_as_native


def test_received_fds_are_installed_like_linux():
    lines = same_as_native("scm_rights").splitlines()
    assert lines[0].startswith("all three, CMSG_CLOEXEC: res=1 byte=m ctrunc=0 controllen=32 ")
    assert lines[0].count("(cloexec=1)") == 3
    assert lines[1:3] == ["through received pipe write end: hi", "received eventfd value: 5"]
    assert lines[3].startswith("room for one: res=1 byte=m ctrunc=1 controllen=20 fd=")
    assert lines[3].count("fd=") == 1 and lines[3].endswith("(cloexec=0)")
    assert lines[4:] == ["no room at all: res=1 byte=m ctrunc=1 controllen=0",
                         "no control buffer: res=1 byte=m ctrunc=1 controllen=0"]
