/* Garbage SQEs: random bytes in every field (with fd and pointers forced to
 * harmless values so no real file is touched), submitted in batches.  The
 * sandbox must answer each SQE with exactly one CQE carrying its user_data,
 * never crash and never hang.  Links and CQE skipping are masked off so the
 * count of CQEs is exact. */
#include "rawring.h"

static unsigned long long rnd_state = 0x1234567887654321ULL;
static unsigned long long rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	struct rawring r;
	if (rawring_init(&r, 16, 0))
		FAIL("init");
	unsigned long long expect = 0, got = 0, mismatched = 0;
	for (int round = 0; round < rounds; round++) {
		int n = 1 + rnd() % 16;
		for (int i = 0; i < n; i++) {
			struct io_uring_sqe s;
			unsigned long long *w = (unsigned long long *)&s;
			for (int k = 0; k < 8; k++)
				w[k] = rnd();
			s.fd = -1 - (int)(rnd() % 4);     /* never a real fd */
			s.addr = rnd() % 4096;           /* never a mapped address */
			s.off = rnd() % 8192;
			s.flags &= ~(IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS |
				     IOSQE_IO_DRAIN);
			s.opcode = rnd() % 8 == 0 ? IORING_OP_NOP : (unsigned char)rnd();
			s.user_data = expect + i;
			rawring_push(&r, &s);
		}
		int ret = sys_enter(r.fd, n, 0, 0, NULL, 0);
		if (ret < 0)
			FAIL("round %d: enter: %s", round, strerror(errno));
		/* Without SUBMIT_ALL an SQE that fails to initialise ends the
		 * batch; resubmit the rest. */
		int done = ret;
		while (done < n) {
			ret = sys_enter(r.fd, n - done, 0, 0, NULL, 0);
			if (ret <= 0)
				FAIL("round %d: resubmit: %d %s", round, ret, strerror(errno));
			done += ret;
		}
		expect += n;
		struct io_uring_cqe c;
		while (got < expect) {
			if (!rawring_pop(&r, &c)) {
				if (sys_enter(r.fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
					FAIL("wait: %s", strerror(errno));
				continue;
			}
			if (c.user_data != got)
				mismatched++;
			got++;
		}
	}
	printf("sqes: %llu cqes: %llu out-of-order: %llu\n", expect, got, mismatched);
	return mismatched ? 1 : 0;
}
