"""Linux uapi constants the Sentry uses beyond io_uring's own (those are in
sentry/iouring/abi.py) and beyond what Python's os and select modules
name: poll events, *at() flags, open flags, path limits.  One place, so that
no module defines its own copy.
"""
import os

# include/uapi/asm-generic/poll.h
POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010

# include/uapi/linux/fcntl.h
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
O_PATH = 0o10000000
O_TMPFILE = 0o20000000 | os.O_DIRECTORY    # __O_TMPFILE | O_DIRECTORY
O_PATH_CLOEXEC = O_PATH | os.O_CLOEXEC

# include/uapi/linux/limits.h
PATH_MAX = 4096        # counting the NUL
NAME_MAX = 255
