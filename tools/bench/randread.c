/*
 * randread: 4 KiB random reads from a (page-cached) file, either with
 * pread(2) in a loop or with io_uring keeping N reads in flight.
 *
 *   randread FILE psync [--ops N | --secs S] [--warmup N] [--seed X] [--verify]
 *   randread FILE uring [--qd N] [--ops N | --secs S] [--warmup N] [--seed X] [--verify]
 *
 * Offsets are 4 KiB aligned and drawn from a fixed-seed xorshift64* stream,
 * so every run (native or sandboxed) reads the same sequence of blocks.
 *
 * uring mode: all free slots are refilled, then one io_uring_submit_and_wait
 * (wait for >= 1 completion) per batch, then every completion that is ready
 * is reaped.  Each slot owns its own 4 KiB buffer and is only reused after
 * its completion came back.
 *
 * --verify expects the layout tools/bench.py writes: every 4 KiB block starts
 * with the 8 bytes "PSBENCH\0" followed by the block index as a little-endian
 * u64.  Each completed read is checked against the offset it was issued for
 * (the header is cleared before the read is issued), so a runtime that
 * reports completions without delivering the right data fails loudly.
 *
 * Output: one line of key=value pairs on stdout, e.g.
 *   mode=uring qd=32 ops=20000 secs=0.012345 iops=1620089 enters=625 verified=20000
 * Exit status: 0 ok, 1 I/O or verification error, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
#define MAX_QD 4096
#define HDR_LEN 16

static const char magic[8] = { 'P', 'S', 'B', 'E', 'N', 'C', 'H', 0 };

struct opts {
	const char *path;
	const char *mode;
	long qd;
	long ops;
	double secs;            /* > 0: run for this long instead of --ops */
	long warmup;
	uint64_t seed;
	int verify;
};

struct stats {
	long done;
	long enters;            /* io_uring_submit_and_wait calls (uring mode) */
	long verified;
};

static uint64_t rng_state;

/* xorshift64* (Vigna); the state must never be 0. */
static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t nblocks;

static uint64_t next_block(void)
{
	return rng_next() % nblocks;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s FILE psync|uring [--qd N] [--ops N | --secs S]\n"
		"          [--warmup N] [--seed X] [--verify]\n"
		"  --qd N      reads kept in flight (uring mode; 1..%d, default 1)\n"
		"  --ops N     timed reads to do (default 20000)\n"
		"  --secs S    instead of --ops: read for S seconds\n"
		"  --warmup N  untimed reads before the timed ones (default 0)\n"
		"  --seed X    offset stream seed (default fixed)\n"
		"  --verify    check each block's header (tools/bench.py layout)\n",
		argv0, MAX_QD);
}

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int positional = 0;
	o->qd = 1;
	o->ops = 20000;
	o->secs = 0;
	o->warmup = 0;
	o->seed = 0x5eed0fb10c4ULL;
	o->verify = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verify")) {
			o->verify = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			return -1;
		} else if (!strcmp(a, "--qd") || !strcmp(a, "--ops") ||
			   !strcmp(a, "--warmup") || !strcmp(a, "--seed")) {
			long v;
			if (!val || parse_long(val, &v)) {
				fprintf(stderr, "%s needs an integer\n", a);
				return -1;
			}
			if (!strcmp(a, "--qd"))
				o->qd = v;
			else if (!strcmp(a, "--ops"))
				o->ops = v;
			else if (!strcmp(a, "--warmup"))
				o->warmup = v;
			else
				o->seed = (uint64_t)v;
			i++;
		} else if (!strcmp(a, "--secs")) {
			char *end;
			if (!val || (o->secs = strtod(val, &end), end == val || *end) ||
			    o->secs <= 0) {
				fprintf(stderr, "--secs needs a positive number\n");
				return -1;
			}
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "unknown option %s\n", a);
			return -1;
		} else if (positional == 0) {
			o->path = a;
			positional++;
		} else if (positional == 1) {
			o->mode = a;
			positional++;
		} else {
			fprintf(stderr, "unexpected argument %s\n", a);
			return -1;
		}
	}
	if (positional != 2)
		return -1;
	if (strcmp(o->mode, "psync") && strcmp(o->mode, "uring")) {
		fprintf(stderr, "mode must be psync or uring\n");
		return -1;
	}
	if (o->qd < 1 || o->qd > MAX_QD) {
		fprintf(stderr, "--qd must be 1..%d\n", MAX_QD);
		return -1;
	}
	if (o->ops < 1 || o->warmup < 0) {
		fprintf(stderr, "--ops must be >= 1, --warmup >= 0\n");
		return -1;
	}
	if (!strcmp(o->mode, "psync"))
		o->qd = 1;
	if (o->seed == 0)
		o->seed = 1;
	return 0;
}

/* Header check for --verify; returns 0 if buf holds block `blk`. */
static int check_block(const unsigned char *buf, uint64_t blk)
{
	uint64_t got = 0;
	if (memcmp(buf, magic, sizeof(magic)))
		return -1;
	for (int i = 7; i >= 0; i--)
		got = (got << 8) | buf[8 + i];
	return got == blk ? 0 : -1;
}

static int report_bad(const unsigned char *buf, uint64_t blk)
{
	uint64_t got = 0;
	for (int i = 7; i >= 0; i--)
		got = (got << 8) | buf[8 + i];
	if (memcmp(buf, magic, sizeof(magic)))
		fprintf(stderr, "verify: block %llu (offset %llu): no block header "
			"(first bytes %02x %02x %02x %02x ...)\n",
			(unsigned long long)blk, (unsigned long long)(blk * BLOCK),
			buf[0], buf[1], buf[2], buf[3]);
	else
		fprintf(stderr, "verify: block %llu (offset %llu): got the data of "
			"block %llu\n", (unsigned long long)blk,
			(unsigned long long)(blk * BLOCK), (unsigned long long)got);
	return -1;
}

/*
 * pread(2) loop.  `limit` ops, or until `deadline` (if > 0), whichever comes
 * first; the clock is read every 64 ops.
 */
static int run_psync(int fd, unsigned char *buf, const struct opts *o,
		     long limit, double deadline, struct stats *st)
{
	for (long i = 0; i < limit; i++) {
		uint64_t blk = next_block();
		if (o->verify)
			memset(buf, 0, HDR_LEN);
		ssize_t n = pread(fd, buf, BLOCK, (off_t)(blk * BLOCK));
		if (n != (ssize_t)BLOCK) {
			if (n < 0)
				perror("pread");
			else
				fprintf(stderr, "pread: short read %zd at block %llu\n",
					n, (unsigned long long)blk);
			return -1;
		}
		if (o->verify) {
			if (check_block(buf, blk))
				return report_bad(buf, blk);
			st->verified++;
		}
		st->done++;
		if (deadline > 0 && (i & 63) == 63 && mono_now() >= deadline)
			break;
	}
	return 0;
}

struct ring_state {
	struct io_uring ring;
	unsigned char *bufs;    /* qd * BLOCK */
	uint64_t *slot_blk;     /* block each in-flight slot reads */
	int *free_slots;        /* stack of idle slot numbers */
	int nfree;
};

/*
 * Keep up to qd reads in flight.  Each round: refill every idle slot (unless
 * the issue budget is spent), one submit-and-wait for at least one
 * completion, reap everything that is ready.
 */
static int run_uring(int fd, struct ring_state *rs, const struct opts *o,
		     long limit, double deadline, struct stats *st)
{
	long issued = 0, completed = 0;
	int stop_issuing = 0;

	while (completed < issued || (!stop_issuing && issued < limit)) {
		while (!stop_issuing && rs->nfree > 0 && issued < limit) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&rs->ring);
			if (!sqe)
				break;  /* SQ full: submit what we have */
			int slot = rs->free_slots[--rs->nfree];
			unsigned char *buf = rs->bufs + (size_t)slot * BLOCK;
			uint64_t blk = next_block();
			rs->slot_blk[slot] = blk;
			if (o->verify)
				memset(buf, 0, HDR_LEN);
			io_uring_prep_read(sqe, fd, buf, BLOCK, blk * BLOCK);
			io_uring_sqe_set_data64(sqe, (uint64_t)slot);
			issued++;
		}

		int ret;
		do {
			ret = io_uring_submit_and_wait(&rs->ring, 1);
		} while (ret == -EINTR);
		if (ret < 0) {
			fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-ret));
			return -1;
		}
		st->enters++;

		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int bad = 0;
		io_uring_for_each_cqe(&rs->ring, head, cqe) {
			uint64_t slot = io_uring_cqe_get_data64(cqe);
			seen++;
			if (slot >= (uint64_t)o->qd) {
				fprintf(stderr, "cqe: unexpected user_data %llu\n",
					(unsigned long long)slot);
				bad = 1;
				continue;
			}
			uint64_t blk = rs->slot_blk[slot];
			unsigned char *buf = rs->bufs + (size_t)slot * BLOCK;
			if (cqe->res != (int)BLOCK) {
				if (cqe->res < 0)
					fprintf(stderr, "read block %llu: %s\n",
						(unsigned long long)blk, strerror(-cqe->res));
				else
					fprintf(stderr, "read block %llu: short read %d\n",
						(unsigned long long)blk, cqe->res);
				bad = 1;
			} else if (o->verify) {
				if (check_block(buf, blk)) {
					report_bad(buf, blk);
					bad = 1;
				} else {
					st->verified++;
				}
			}
			rs->free_slots[rs->nfree++] = (int)slot;
			completed++;
		}
		io_uring_cq_advance(&rs->ring, seen);
		if (bad)
			return -1;
		if (deadline > 0 && !stop_issuing && mono_now() >= deadline)
			stop_issuing = 1;
	}
	st->done += completed;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	if (parse_args(argc, argv, &o)) {
		usage(argv[0]);
		return 2;
	}

	int fd = open(o.path, O_RDONLY);
	if (fd < 0) {
		perror(o.path);
		return 1;
	}
	struct stat sb;
	if (fstat(fd, &sb)) {
		perror("fstat");
		return 1;
	}
	nblocks = (uint64_t)sb.st_size / BLOCK;
	if (nblocks == 0) {
		fprintf(stderr, "%s: smaller than one %u-byte block\n", o.path, BLOCK);
		return 1;
	}
	rng_state = o.seed;

	int uring = !strcmp(o.mode, "uring");
	size_t nbufs = (size_t)o.qd;
	unsigned char *bufs;
	if (posix_memalign((void **)&bufs, BLOCK, nbufs * BLOCK)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	memset(bufs, 0, nbufs * BLOCK);  /* fault the buffers in before timing */

	struct ring_state rs;
	memset(&rs, 0, sizeof(rs));
	if (uring) {
		int ret = io_uring_queue_init((unsigned)o.qd, &rs.ring, 0);
		if (ret < 0) {
			fprintf(stderr, "io_uring_queue_init(%ld): %s\n", o.qd, strerror(-ret));
			return 1;
		}
		rs.bufs = bufs;
		rs.slot_blk = calloc(nbufs, sizeof(*rs.slot_blk));
		rs.free_slots = calloc(nbufs, sizeof(*rs.free_slots));
		if (!rs.slot_blk || !rs.free_slots) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		for (int i = (int)nbufs - 1; i >= 0; i--)
			rs.free_slots[rs.nfree++] = i;
	}

	struct stats warm = { 0 }, st = { 0 };
	int rc;
	if (o.warmup > 0) {
		rc = uring ? run_uring(fd, &rs, &o, o.warmup, 0, &warm)
			   : run_psync(fd, bufs, &o, o.warmup, 0, &warm);
		if (rc)
			return 1;
	}

	long limit = o.secs > 0 ? 0x7fffffffffffffffL : o.ops;
	double t0 = mono_now();
	double deadline = o.secs > 0 ? t0 + o.secs : 0;
	rc = uring ? run_uring(fd, &rs, &o, limit, deadline, &st)
		   : run_psync(fd, bufs, &o, limit, deadline, &st);
	double secs = mono_now() - t0;
	if (rc)
		return 1;

	if (uring)
		io_uring_queue_exit(&rs.ring);
	close(fd);

	printf("mode=%s qd=%ld ops=%ld secs=%.6f iops=%.0f", o.mode, o.qd, st.done,
	       secs, secs > 0 ? (double)st.done / secs : 0.0);
	if (uring)
		printf(" enters=%ld", st.enters);
	if (o.verify)
		printf(" verified=%ld", st.verified);
	printf("\n");
	return 0;
}
