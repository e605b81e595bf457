/*
 * The calls the C trap step serves (platform/native/trap.c ps_trap_loop):
 * pread64/pwrite64 on regular files, and read/write/pread64/pwrite64 that
 * go to the host unchanged, in the cases where they differ from the easy
 * one; output compared with the host's.  The first call on an fd makes the
 * Sentry take the file over (Python); every case runs twice, so the second
 * call is the one C serves.
 *
 *   trap_step DIR          the cases below, one line each
 *   trap_step DIR stats    only N preads of a held file (for --stats)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCKS 16
#define STATS_CALLS 1000

static char path[4096];

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* Each case twice: taken over by Python, then served in C. */
#define TWICE(what, call)                                                     \
	do {                                                                  \
		show(what " (1)", (call));                                    \
		show(what " (2)", (call));                                    \
	} while (0)

static int block_ok(const char *buf, int block, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (char)('A' + block))
			return 0;
	return 1;
}

/* -- EBADF after another thread closed the fd ---------------------------- */
struct reader {
	int fd;
	long good, bad_data;
	int err;
};

static void *read_until_error(void *arg)
{
	struct reader *r = arg;
	char buf[4096];
	for (long i = 0;; i++) {
		int block = i % BLOCKS;
		ssize_t n = pread(r->fd, buf, 4096, (off_t)block * 4096);
		if (n < 0) {
			r->err = errno;
			return NULL;
		}
		if (n != 4096 || !block_ok(buf, block, 4096))
			r->bad_data++;
		r->good++;
	}
}

static void *one_pread(void *arg)
{
	struct reader *r = arg;
	char buf[16];
	ssize_t n = pread(r->fd, buf, 16, 0);
	r->err = n < 0 ? errno : 0;
	r->good = n;
	return NULL;
}

/* -- threads at their own offsets ---------------------------------------- */
struct worker {
	int fd, id;
	long bad;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	char buf[4096];
	for (int i = 0; i < 2000; i++) {
		int block = (w->id * 7 + i) % BLOCKS;
		if (pread(w->fd, buf, 4096, (off_t)block * 4096) != 4096 || !block_ok(buf, block, 4096))
			w->bad++;
	}
	return NULL;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(int argc, char **argv)
{
	char buf[8192];
	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/trap_step.dat", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	for (int i = 0; i < BLOCKS; i++) {
		memset(buf, 'A' + i, 4096);
		if (pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096)
			return 1;
	}
	if (argc > 2 && !strcmp(argv[2], "stats")) {
		for (int i = 0; i < STATS_CALLS; i++)
			if (pread(fd, buf, 4096, (i % BLOCKS) * 4096) != 4096)
				return 1;
		unlink(path);
		return 0;
	}

	/* Offsets: pread/pwrite leave the file position alone; read/write
	 * after them use it. */
	lseek(fd, 100, SEEK_SET);
	for (int i = 0; i < BLOCKS; i++) {
		long n = pread(fd, buf, 4096, (off_t)i * 4096);
		printf("pread block %d: %ld %s\n", i, n, block_ok(buf, i, 4096) ? "ok" : "WRONG");
	}
	TWICE("pread odd offset", pread(fd, buf, 10, 4096 * 3 - 5));
	printf("bytes: %.10s\n", buf);
	printf("position after preads: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	TWICE("pwrite in the middle", pwrite(fd, "0123456789", 10, 5000));
	TWICE("pread it back", pread(fd, buf, 12, 4999));
	printf("bytes: %.12s\n", buf);
	TWICE("read at the position", read(fd, buf, 5));
	printf("bytes: %.5s position %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
	TWICE("pread across EOF", pread(fd, buf, 8192, BLOCKS * 4096 - 100));
	TWICE("pread at EOF", pread(fd, buf, 10, BLOCKS * 4096));
	TWICE("pread far past EOF", pread(fd, buf, 10, 1L << 40));
	TWICE("pread count 0", pread(fd, buf, 0, 0));
	TWICE("pread negative offset", syscall(SYS_pread64, fd, buf, 10, -1L));
	TWICE("pwrite negative offset", syscall(SYS_pwrite64, fd, buf, 10, -1L));
	TWICE("pread fd with high bits", syscall(SYS_pread64, fd | (1L << 32), buf, 10, 0L));
	TWICE("pread huge count", syscall(SYS_pread64, fd, buf, 1L << 40, BLOCKS * 4096L));

	/* Bad buffers: EFAULT, or the part copied. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + 4096, 4096);
	TWICE("pread into half a buffer", pread(fd, two + 4000, 200, 0));
	printf("copied: %c%c\n", two[4000], two[4095]);
	memset(two + 4000, 'q', 96);
	TWICE("pwrite from half a buffer", pwrite(fd, two + 4000, 200, 8192));
	TWICE("pread what it wrote", pread(fd, buf, 100, 8192));
	printf("bytes: %.100s\n", buf);
	TWICE("pread to an unmapped page", pread(fd, two + 4096, 10, 0));
	TWICE("pwrite from an unmapped page", pwrite(fd, two + 4096, 10, 0));
	TWICE("pread to address 8", syscall(SYS_pread64, fd, 8L, 10L, 0L));
	TWICE("pread to a kernel address", pread(fd, (void *)0xffff800000000000UL, 10, 0));
	TWICE("pread to the last user page", pread(fd, (void *)0x7ffffffff000UL, 4096, 0));
	char *ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TWICE("pread to a read-only page", pread(fd, ro_page, 10, 0));

	/* Open modes, checked by the host on the Sentry's description. */
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
	TWICE("pwrite read-only fd", pwrite(ro, buf, 10, 0));
	TWICE("pread write-only fd", pread(wo, buf, 10, 0));
	TWICE("read write-only fd", read(wo, buf, 10));
	close(ro);
	close(wo);

	/* Files passed through: a pipe, /dev/zero, /dev/null. */
	int p[2];
	pipe(p);
	TWICE("write pipe", write(p[1], "pipe!", 5));
	TWICE("read pipe", read(p[0], buf, 5));
	printf("bytes: %.5s\n", buf);
	TWICE("pread pipe", pread(p[0], buf, 5, 0));
	TWICE("pwrite pipe", pwrite(p[1], buf, 5, 0));
	close(p[1]);
	TWICE("read pipe after the writer closed", read(p[0], buf, 5));
	close(p[0]);
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
	buf[0] = 'x';
	TWICE("read /dev/zero", read(zero, buf, 100));
	printf("byte: %d\n", buf[0]);
	TWICE("pread /dev/zero", pread(zero, buf, 100, 12345));
	TWICE("write /dev/null", write(null, buf, 100));
	TWICE("write /dev/zero read-only", write(zero, buf, 1));
	TWICE("read /dev/zero to a bad buffer", syscall(SYS_read, zero, 8L, 10L));
	close(zero);
	close(null);

	/* A closed fd, and its number reused for another file. */
	int keep = dup(fd);
	close(fd);
	TWICE("pread closed fd", pread(fd, buf, 10, 0));
	TWICE("read closed fd", read(fd, buf, 10));
	int again = open("/dev/zero", O_RDONLY);
	printf("fd number reused: %s\n", again == fd ? "yes" : "no");
	buf[0] = 'x';
	TWICE("pread the new file", pread(again, buf, 10, 0));
	printf("byte: %d\n", buf[0]);
	close(again);
	fd = keep;

	/* Another thread closes the fd: EBADF from then on. */
	for (int i = 0; i < BLOCKS; i++) {
		memset(buf, 'A' + i, 4096);
		if (pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096)
			return 1;
	}
	struct reader r = { .fd = dup(fd) };
	pthread_t th;
	pthread_create(&th, NULL, one_pread, &r);
	pthread_join(th, NULL);
	printf("thread pread: %ld err %d\n", r.good, r.err);
	close(r.fd);
	pthread_create(&th, NULL, one_pread, &r);
	pthread_join(th, NULL);
	printf("thread pread after close: %ld %s\n", r.good, strerrorname_np(r.err));
	r = (struct reader){ .fd = dup(fd) };
	pthread_create(&th, NULL, read_until_error, &r);
	while (__atomic_load_n(&r.good, __ATOMIC_RELAXED) < 2000)
		usleep(1000);
	close(r.fd);
	pthread_join(th, NULL);
	printf("reader while closed: ended with %s, bad data %ld\n", strerrorname_np(r.err),
	       r.bad_data);

	/* Threads, each at its own offsets. */
	struct worker w[4];
	pthread_t ths[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .fd = fd, .id = i };
		pthread_create(&ths[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(ths[i], NULL);
		printf("thread %d: bad %ld\n", i, w[i].bad);
	}

	/* fork: the child's fd table is its own, the description shared. */
	pid_t pid = fork();
	if (pid == 0) {
		long bad = 0;
		for (int i = 0; i < 2000; i++)
			if (pread(fd, buf, 4096, (i % BLOCKS) * 4096) != 4096
			    || !block_ok(buf, i % BLOCKS, 4096))
				bad++;
		pwrite(fd, "from the child", 14, 20000);
		close(fd);
		printf("child: bad %ld, pread after close: %ld %s\n", bad,
		       (long)pread(fd, buf, 10, 0), strerrorname_np(errno));
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	TWICE("parent reads the child's pwrite", pread(fd, buf, 14, 20000));
	printf("bytes: %.14s\n", buf);

	/* Signals: a 1 ms timer without SA_RESTART never makes a regular-file
	 * pread fail (Linux has no EINTR there); its handler runs. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long eintr = 0, other = 0;
	for (int i = 0; i < 20000 || alarms < 3; i++) {
		ssize_t n = pread(fd, buf, 4096, (i % BLOCKS) * 4096);
		if (n < 0 && errno == EINTR)
			eintr++;
		else if (n != 4096)
			other++;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("preads under a 1 ms timer: EINTR %ld, other failures %ld, handler ran: %s\n",
	       eintr, other, alarms ? "yes" : "no");
	close(fd);
	unlink(path);
	return 0;
}
