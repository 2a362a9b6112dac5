/*
 * respond.h: what to answer, as status, headers and body, for a method
 * and a route.  Knows nothing of FastCGI, so that it can be tested alone.
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

void	respond(const struct app *, enum method, enum route, struct reply *);
void	respond_visit(const struct app *, enum route, const char *err,
	    struct reply *);
void	respond_count(uint64_t count, const char *err, struct reply *);
void	respond_ready(const char *err, struct reply *);
void	reply_head(const struct app *, const struct reply *, struct buf *);
const char *status_reason(int);

#endif
