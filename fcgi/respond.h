/*
 * respond.h: what to answer, as status, headers and body, for a method,
 * a route and what the store said.  Knows nothing of FastCGI, so that it
 * can be tested alone.
 */
#ifndef VISITS_RESPOND_H
#define VISITS_RESPOND_H

#include "buf.h"
#include "cluster.h"
#include "metrics.h"
#include "route.h"
#include "store.h"

struct app {
	struct store	*store;
	struct metrics	*metrics;
	struct cluster	*cluster;	/* NULL: this pod alone */
	const char	*hostname;
	const char	*timezone;
};

struct reply {
	int		 status;
	const char	*content_type;
	int		 allow;		/* add "Allow: GET, HEAD" */
	struct buf	 body;		/* the caller provides the storage */
};

void	respond(const struct app *, enum method, const struct route *,
	    uint64_t count, const char *err, struct reply *);
void	reply_head(const struct app *, const struct reply *, struct buf *);

/* The routes' answers, named in the route table (route.c). */
route_write	respond_page, respond_time, respond_count, respond_health,
		respond_ready, respond_metrics, respond_cluster,
		respond_not_found;

#endif
