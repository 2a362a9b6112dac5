/*
 * metrics.h: request counters and the Prometheus text exposition.
 *
 * The threads that answer (the event loop, and the store thread for the
 * requests that waited for the disk) only add to counters with relaxed
 * atomics; /metrics reads them.  Nothing here takes a lock.
 */
#ifndef VISITS_METRICS_H
#define VISITS_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "route.h"
#include "store.h"

#define METRICS_STATUS_COUNT	6	/* 200 404 405 500 503 other */
#define METRICS_BUCKET_COUNT	12

struct metrics {
	uint64_t	requests[ROUTE_COUNT][METRICS_STATUS_COUNT];
	uint64_t	buckets[ROUTE_COUNT][METRICS_BUCKET_COUNT + 1];
	uint64_t	duration_ns[ROUTE_COUNT];
	double		start_time;	/* seconds since the epoch */
};

void	metrics_init(struct metrics *);
void	metrics_observe(struct metrics *, const struct route *, int status,
	    uint64_t duration_ns);
void	metrics_render(const struct metrics *, const struct store_stats *,
	    struct buf *);

#endif
