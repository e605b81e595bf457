"""The Sentry's io_uring, laid out like Linux's io_uring/ directory.

  abi.py       uapi constants and struct layouts
  ring.py      the shared rings (io_ring_ctx's SQ/CQ and overflow backlog)
  ringlayout.py  entry sizes: SQE128, CQE32, CQE_MIXED
  setup.py     io_uring_setup(2)
  enter.py     io_uring_enter(2) and CQ waiting
  register.py  io_uring_register(2)
  opdef.py     the opcode table
  submit.py    request life cycle: links, drain, CQE skip, readiness retries
  request.py   one request (the copied SQE)
  nop.py, rw.py, sync.py   op families
  file.py      the io_uring file description
  registry.py  all rings of a sandbox, by shared-file inode
  trace.py     the optional trace of SQE/CQE traffic
"""
