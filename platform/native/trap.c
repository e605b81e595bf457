/* The trap loop's two hottest steps, each one C call instead of several
 * Python ones (platform/tracer.py):
 *
 *   ps_wait_stop   waitpid(2) for the next ptrace event and, if it is a
 *                  seccomp stop, PTRACE_GET_SYSCALL_INFO for it;
 *   ps_cont        PTRACE_CONT, for a call the host runs as it is;
 *   ps_return      answer a seccomp stop with a result and resume: the call
 *                  is skipped (orig_rax = -1, as a tracer skips a syscall at
 *                  its seccomp stop) and returns `result` (rax), then
 *                  PTRACE_CONT.  Two PTRACE_POKEUSERs, not GETREGS+SETREGS:
 *                  SETREGS rewrites every register (fs_base and gs_base
 *                  included), two words are all that change.
 *
 * Both return -errno on failure, as the caller raises it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>

#define PS_EVENT_SECCOMP 7
#define PS_GET_SYSCALL_INFO 0x420e
#define PS_INFO_SECCOMP 3

/* struct ptrace_syscall_info (include/uapi/linux/ptrace.h), its seccomp part. */
struct ps_syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t stack_pointer;
	uint64_t nr;
	uint64_t args[6];
	uint32_t ret_data;
	uint32_t pad2;
};

/* Wait for the next event (flags: WNOHANG or 0; __WALL is added).  Returns
 * the pid (0: none waiting with WNOHANG; -errno, -EINTR included) and fills out[]:
 *   out[0] the wait status, out[1] 1 if this is a seccomp stop whose call
 *   follows: out[2] arch, out[3] nr, out[4..9] args, out[10] ip, out[11] sp
 * -- plain words Python unpacks in one call. */
int ps_wait_stop(int flags, uint64_t *out)
{
	struct ps_syscall_info info;
	int status;
	/* EINTR goes back to Python, whose signal handlers (SIGINT's
	 * KeyboardInterrupt) run only once the call returns. */
	pid_t pid = waitpid(-1, &status, flags | __WALL);
	if (pid <= 0)
		return pid < 0 ? -errno : 0;
	out[0] = (uint32_t)status;
	out[1] = 0;
	if (WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PS_EVENT_SECCOMP << 8)) &&
	    ptrace(PS_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) > 0 &&
	    info.op == PS_INFO_SECCOMP) {
		out[1] = 1;
		out[2] = info.arch;
		out[3] = info.nr;
		for (int i = 0; i < 6; i++)
			out[4 + i] = info.args[i];
		out[10] = info.instruction_pointer;
		out[11] = info.stack_pointer;
	}
	return pid;
}

/* Resume a stopped task (PTRACE_CONT), delivering sig if not 0. */
int ps_cont(int tid, int sig)
{
	return ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig) < 0 ? -errno : 0;
}

int ps_return(int tid, long result)
{
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, orig_rax),
		   (void *)-1L) < 0)
		return -errno;
	if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, rax),
		   (void *)result) < 0)
		return -errno;
	if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
		return -errno;
	return 0;
}
