/* Shared by the test programs whose CQEs may legitimately arrive in another
 * order than Linux's: reap them, then compare them sorted by user_data. */
#ifndef CQE_SORTED_H
#define CQE_SORTED_H
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>

struct sorted_cqe {
	unsigned long long ud;
	int res;
	int more;               /* IORING_CQE_F_MORE was set */
};

/* Wait (up to timeout_s seconds for each) for n CQEs; return how many came,
 * sorted by user_data. */
static inline int reap_sorted(struct io_uring *r, struct sorted_cqe *got, int n, int timeout_s)
{
	int k = 0;
	while (k < n) {
		struct io_uring_cqe *c;
		struct __kernel_timespec ts = { timeout_s, 0 };
		if (io_uring_wait_cqe_timeout(r, &c, &ts))
			break;
		got[k].ud = c->user_data;
		got[k].res = c->res;
		got[k].more = !!(c->flags & IORING_CQE_F_MORE);
		k++;
		io_uring_cqe_seen(r, c);
	}
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (got[j].ud < got[i].ud) {
				struct sorted_cqe t = got[i];
				got[i] = got[j];
				got[j] = t;
			}
	return k;
}

/* An SQE with its user_data set; exits if the SQ is full. */
static inline struct io_uring_sqe *sqe_ud(struct io_uring *r, unsigned long long ud)
{
	struct io_uring_sqe *s = io_uring_get_sqe(r);
	if (!s) {
		fprintf(stderr, "no sqe\n");
		exit(1);
	}
	io_uring_sqe_set_data64(s, ud);
	return s;
}
#endif
