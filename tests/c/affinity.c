/*
 * CPU affinity as the program sees it: sched_getaffinity(2) and
 * sched_setaffinity(2) must behave exactly as natively, whatever the
 * Sentry does with the host masks (platform/placement.py).
 *
 *   affinity            the checks below; output compared with the host's
 *   affinity spread     prints, for two busy threads that make no syscalls,
 *                       the CPUs the host lets each run on
 *                       (Cpus_allowed_list in /proc/self/task/<tid>/status)
 *   affinity busy       20,000 pread(2)s (trapped), then the host's mask
 *                       for this thread (where placement pinned it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

/* The raw syscall: its return value is the byte count the kernel copied. */
static long getaff(pid_t pid, size_t len, void *mask)
{
	return syscall(SYS_sched_getaffinity, pid, len, mask);
}

static void show(const char *what, pid_t pid)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	long r = getaff(pid, sizeof(set), &set);
	printf("%s: ret=%ld %s cpus=", what, r, err(r));
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			printf("%d,", i);
	printf(" count=%d\n", CPU_COUNT(&set));
}

static int nr_allowed(void)
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	return CPU_COUNT(&set);
}

static int first_cpu(int skip)
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set) && skip-- == 0)
			return i;
	return -1;
}

static int set_one(pid_t pid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

static pid_t main_tid;

/* sched_getaffinity through int 0x80 (i386's 242), into memory below 4 GiB. */
static void show_i386(const char *what)
{
	unsigned char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long r;
	if (buf == MAP_FAILED)
		return;
	__asm__ volatile("int $0x80" : "=a"(r) : "0"(242L), "b"(0L), "c"(64L), "d"(buf) : "memory");
	printf("%s: ret=%ld cpus=", what, r);
	for (int i = 0; r > 0 && i < r * 8; i++)
		if (buf[i / 8] & (1 << (i % 8)))
			printf("%d,", i);
	printf("\n");
	munmap(buf, 4096);
}

static void *thread_main(void *arg)
{
	pid_t tid = gettid();
	(void)arg;
	show("main seen from a thread", main_tid);
	show("thread inherits", 0);
	int cpu = first_cpu(0);
	int r = set_one(0, cpu);
	printf("thread sets itself to its first cpu: %s\n", r ? strerrorname_np(errno) : "ok");
	show("thread after set", 0);
	/* Linux moves a thread at once to a CPU of its new mask. */
	printf("thread runs on its cpu: %s\n", sched_getcpu() == cpu ? "yes" : "no");
	return (void *)(long)tid;
}

static pthread_barrier_t bar;
static pid_t waiter_tid;

static void *waiter(void *arg)
{
	(void)arg;
	waiter_tid = gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	show("that thread, seen by itself", 0);
	return NULL;
}

static void checks(void)
{
	unsigned char big[128];
	long r;
	main_tid = gettid();
	show("self", 0);
	show_i386("i386 self");
	show("by pid", getpid());
	show("by tid", gettid());
	memset(big, 0xAA, sizeof(big));
	r = getaff(0, sizeof(big), big);
	/* The kernel writes `ret` bytes and leaves the rest alone. */
	printf("len 128: ret=%ld byte[ret]=%s\n", r,
	       r > 0 && r < (long)sizeof(big) ? (big[r] == 0xAA ? "untouched" : "written") : "-");
	r = getaff(0, 8, big);
	printf("len 8: ret=%ld %s\n", r, err(r));
	r = getaff(0, 4, big);
	printf("len 4: ret=%ld %s\n", r, err(r));
	r = getaff(0, 12, big);
	printf("len 12: ret=%ld %s\n", r, err(r));
	r = getaff(0, 8, (void *)8);
	printf("bad buffer: ret=%ld %s\n", r, err(r));
	r = getaff(999999999, 8, big);
	printf("no such pid: ret=%ld %s\n", r, err(r));
	printf("nr allowed: %d\n", nr_allowed());

	if (nr_allowed() >= 2) {
		int first = first_cpu(0), second = first_cpu(1);
		r = set_one(0, second);
		printf("set to second cpu: %s\n", r ? strerrorname_np(errno) : "ok");
		show("after set", 0);
		printf("runs on it: %s\n", sched_getcpu() == second ? "yes" : "no");
		cpu_set_t all;
		CPU_ZERO(&all);
		CPU_SET(first, &all);
		CPU_SET(second, &all);
		r = sched_setaffinity(0, sizeof(all), &all);
		printf("set back to two: %s\n", r ? strerrorname_np(errno) : "ok");
		show("after widening", 0);
	}
	cpu_set_t none;
	CPU_ZERO(&none);
	r = sched_setaffinity(0, sizeof(none), &none);
	printf("empty mask: %s\n", r ? strerrorname_np(errno) : "ok");
	CPU_ZERO(&none);
	CPU_SET(CPU_SETSIZE - 1, &none);
	r = sched_setaffinity(0, sizeof(none), &none);
	printf("offline cpu only: %s\n", r ? strerrorname_np(errno) : "ok");
	r = syscall(SYS_sched_setaffinity, 0, 8, (void *)8);
	printf("set bad buffer: %s\n", r ? strerrorname_np(errno) : "ok");
	show("unchanged", 0);

	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, &ret);

	pid_t pid = fork();
	if (pid == 0) {
		show("fork child inherits", 0);
		set_one(0, first_cpu(0));
		show("fork child after set", 0);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	show("parent unchanged by child", 0);

	/* A thread's mask set by another thread. */
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, waiter, NULL);
	pthread_barrier_wait(&bar);             /* it is running */
	r = set_one(waiter_tid, first_cpu(0));
	printf("set another thread: %s\n", r ? strerrorname_np(errno) : "ok");
	show("that thread, seen from main", waiter_tid);
	pthread_barrier_wait(&bar);             /* it may look */
	pthread_join(t, NULL);
	show("main at the end", 0);
}

/* --- busy: many trapped syscalls, then the host's mask for this thread --- */

static void busy(const char *self)
{
	char c, line[256];
	int fd = open(self, O_RDONLY);
	for (int i = 0; i < 20000; i++)
		if (pread(fd, &c, 1, i) != 1)
			break;
	close(fd);
	FILE *f = fopen("/proc/thread-self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cpus_allowed_list:", 18))
			printf("host mask: %s", line + 18 + strspn(line + 18, " \t"));
	if (f)
		fclose(f);
}

/* --- spread ------------------------------------------------------------- */

static volatile int go, stop;
static pid_t tids[2];

static void *spin(void *arg)
{
	long i = (long)arg;
	tids[i] = gettid();
	__atomic_fetch_add(&go, 1, __ATOMIC_SEQ_CST);
	while (!stop)
		;
	return NULL;
}

static void spread(void)
{
	pthread_t t[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, spin, (void *)i);
	while (go < 2)
		;
	/* Give placement time to look (it looks every 0.1 s). */
	usleep(400000);
	for (int i = 0; i < 2; i++) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", tids[i]);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Cpus_allowed_list:", 18))
				printf("worker %d: %s", i, line + 18 + strspn(line + 18, " \t"));
		if (f)
			fclose(f);
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "spread"))
		spread();
	else if (argc > 1 && !strcmp(argv[1], "busy"))
		busy(argv[0]);
	else
		checks();
	return 0;
}
