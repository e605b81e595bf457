/* CQ overflow: 32 completions into an 8-entry CQ; none is lost, order kept. */
#include "rawring.h"

int main(void)
{
	struct rawring r;
	memset(&r, 0, sizeof(r));
	if (rawring_init(&r, 4, 0))
		FAIL("init");
	printf("cq entries: %u\n", r.p.cq_entries);
	int submitted = 0;
	for (int batch = 0; batch < 8; batch++) {
		for (int i = 0; i < 4; i++) {
			struct io_uring_sqe s = nop_sqe(batch * 4 + i);
			rawring_push(&r, &s);
		}
		int ret = sys_enter(r.fd, 4, 0, 0, NULL, 0);
		if (ret != 4)
			FAIL("batch %d: enter returned %d (%s)", batch, ret, strerror(errno));
		submitted += ret;
	}
	printf("submitted: %d\n", submitted);
	printf("overflow flag set: %d\n", (*r.sq_flags & IORING_SQ_CQ_OVERFLOW) != 0);
	int next = 0, bad = 0;
	struct io_uring_cqe c;
	while (next < 32) {
		int got = 0;
		while (rawring_pop(&r, &c)) {
			if (c.user_data != (unsigned long long)next || c.res != 0)
				bad++;
			next++;
			got++;
		}
		/* Entering the kernel flushes the backlog into the freed slots. */
		int ret = sys_enter(r.fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
		if (ret < 0)
			FAIL("flush: %s", strerror(errno));
		if (!got && !(*r.sq_flags & IORING_SQ_CQ_OVERFLOW) && *r.cq_head == *r.cq_tail)
			break;
	}
	printf("reaped: %d out-of-order-or-failed: %d\n", next, bad);
	printf("overflow flag after: %d\n", (*r.sq_flags & IORING_SQ_CQ_OVERFLOW) != 0);
	return next == 32 && !bad ? 0 : 1;
}
