/* Threads, fork, exec and exit statuses under io_uring.
 *   procs            threads + fork + exec, exits 3
 *   procs exec-stage (internal) the exec'd image
 *   procs die SIG    kills itself with signal SIG
 *   procs sleep      creates a ring and sleeps (for kill tests)
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static int shared_fd;

static void *worker(void *arg)
{
	long id = (long)arg;
	struct io_uring r;
	char buf[4096];
	if (io_uring_queue_init(4, &r, 0))
		FAIL("thread init");
	memset(buf, '0' + id, sizeof(buf));
	struct io_uring_sqe *s = io_uring_get_sqe(&r);
	io_uring_prep_write(s, shared_fd, buf, sizeof(buf), id * 4096);
	s->user_data = id;
	io_uring_submit_and_wait(&r, 1);
	struct io_uring_cqe *c;
	io_uring_peek_cqe(&r, &c);
	if (c->res != 4096 || c->user_data != (unsigned long long)id)
		FAIL("thread %ld: res=%d", id, c->res);
	io_uring_queue_exit(&r);
	return NULL;
}

static int nop_once(void)
{
	struct io_uring r;
	struct io_uring_cqe *c;
	if (io_uring_queue_init(2, &r, 0))
		return -1;
	io_uring_prep_nop(io_uring_get_sqe(&r));
	io_uring_submit_and_wait(&r, 1);
	io_uring_peek_cqe(&r, &c);
	int res = c->res;
	io_uring_queue_exit(&r);
	return res;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec-stage")) {
		printf("exec ok, nop=%d\n", nop_once());
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "die")) {
		fflush(stdout);
		kill(getpid(), atoi(argv[2]));
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "sleep")) {
		struct io_uring r;
		if (io_uring_queue_init(4, &r, 0))
			FAIL("init");
		printf("ready %d\n", getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	char path[] = "/tmp/pysentry-procs-XXXXXX";
	shared_fd = mkstemp(path);
	unlink(path);
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char buf[4096];
	int good = 0;
	for (int i = 0; i < 4; i++)
		good += pread(shared_fd, buf, 4096, i * 4096) == 4096 && buf[0] == '0' + i && buf[4095] == '0' + i;
	printf("threads wrote their blocks: %d/4\n", good);

	pid_t pid = fork();
	if (pid == 0)
		_exit(nop_once() == 0 ? 7 : 1);
	int st;
	waitpid(pid, &st, 0);
	printf("forked child exit: %d\n", WEXITSTATUS(st));

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "exec-stage", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("exec'd child exit: %d\n", WEXITSTATUS(st));

	/* vfork + exec, as posix_spawn and shells do. */
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "exec-stage", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("vfork'd child exit: %d\n", WEXITSTATUS(st));
	return 3;
}
