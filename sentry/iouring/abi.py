"""io_uring user ABI: opcodes, flags and struct layouts (facts from the uapi header).

The authoritative list is ../shared/reference/io_uring-uapi.txt; only the
values pysentry uses are spelled out here.
"""
import struct

# io_uring_setup(2) flags
SETUP_IOPOLL = 1 << 0
SETUP_SQPOLL = 1 << 1
SETUP_SQ_AFF = 1 << 2
SETUP_CQSIZE = 1 << 3
SETUP_CLAMP = 1 << 4
SETUP_ATTACH_WQ = 1 << 5
SETUP_R_DISABLED = 1 << 6
SETUP_SUBMIT_ALL = 1 << 7
SETUP_COOP_TASKRUN = 1 << 8
SETUP_TASKRUN_FLAG = 1 << 9
SETUP_SQE128 = 1 << 10
SETUP_CQE32 = 1 << 11
SETUP_SINGLE_ISSUER = 1 << 12
SETUP_DEFER_TASKRUN = 1 << 13
SETUP_NO_MMAP = 1 << 14
SETUP_REGISTERED_FD_ONLY = 1 << 15
SETUP_NO_SQARRAY = 1 << 16

# io_uring_enter(2) flags
ENTER_GETEVENTS = 1 << 0
ENTER_SQ_WAKEUP = 1 << 1
ENTER_SQ_WAIT = 1 << 2
ENTER_EXT_ARG = 1 << 3
ENTER_REGISTERED_RING = 1 << 4
ENTER_ABS_TIMER = 1 << 5

# params.features
FEAT_SINGLE_MMAP = 1 << 0
FEAT_NODROP = 1 << 1
FEAT_SUBMIT_STABLE = 1 << 2
FEAT_RW_CUR_POS = 1 << 3
FEAT_CUR_PERSONALITY = 1 << 4
FEAT_FAST_POLL = 1 << 5
FEAT_EXT_ARG = 1 << 8
FEAT_CQE_SKIP = 1 << 11

# sqe->flags
IOSQE_FIXED_FILE = 1 << 0
IOSQE_IO_DRAIN = 1 << 1
IOSQE_IO_LINK = 1 << 2
IOSQE_IO_HARDLINK = 1 << 3
IOSQE_ASYNC = 1 << 4
IOSQE_BUFFER_SELECT = 1 << 5
IOSQE_CQE_SKIP_SUCCESS = 1 << 6
IOSQE_ALL = (1 << 7) - 1

# sq ring flags
SQ_NEED_WAKEUP = 1 << 0
SQ_CQ_OVERFLOW = 1 << 1
SQ_TASKRUN = 1 << 2

# mmap offsets
OFF_SQ_RING = 0
OFF_CQ_RING = 0x8000000
OFF_SQES = 0x10000000

# kernel limits (io_uring/io_uring.c)
MAX_ENTRIES = 32768
MAX_CQ_ENTRIES = 2 * MAX_ENTRIES

# opcodes (enum io_uring_op)
OP_NOP = 0
OP_READV = 1
OP_WRITEV = 2
OP_FSYNC = 3
OP_READ = 22
OP_WRITE = 23
OP_LAST = 65

# register opcodes
REGISTER_PROBE = 8
REGISTER_LAST = 38
REGISTER_USE_REGISTERED_RING = 1 << 31
IO_URING_OP_SUPPORTED = 1 << 0

FSYNC_DATASYNC = 1 << 0

# NOP flags (sqe->nop_flags, the rw_flags union member)
NOP_INJECT_RESULT = 1 << 0
NOP_FILE = 1 << 1
NOP_FIXED_FILE = 1 << 2
NOP_FIXED_BUFFER = 1 << 3
NOP_TW = 1 << 4
NOP_CQE32 = 1 << 5

# struct io_uring_sqe (64 bytes): opcode, flags, ioprio, fd, off, addr, len,
# rw_flags, user_data, buf_index, personality, splice_fd_in, addr3, pad
SQE = struct.Struct("<BBHiQQIIQHHiQQ")
SQE_SIZE = 64
CQE = struct.Struct("<QiI")
CQE_SIZE = 16
# struct io_uring_params: 10 u32 (incl. resv[3]) then the two offset blocks
PARAMS_HEAD = struct.Struct("<7I3I")
SQ_OFFSETS = struct.Struct("<8IQ")
CQ_OFFSETS = struct.Struct("<8IQ")
PARAMS_SIZE = 120
# struct io_uring_getevents_arg
GETEVENTS_ARG = struct.Struct("<QIIQ")
TIMESPEC = struct.Struct("<qq")
