/*
 * route.h: the routes.  One table (route.c) says, for each path, what
 * the answer needs first and which function writes the answer;
 * a request looks its route up once, and everything else reads the row.
 */
#ifndef VISITS_ROUTE_H
#define VISITS_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct app;
struct reply;

enum method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_OTHER
};

/*
 * What a request needs before it can be answered: one of the store's
 * asks (store.h), with the store's own values, or a view of the cluster
 * at most CLUSTER_REFRESH_MS old (cluster.h).
 */
enum need {
	NEED_NOTHING = STORE_NOTHING,
	NEED_VISIT = STORE_VISIT,
	NEED_COUNT = STORE_COUNT,
	NEED_READY = STORE_READY,
	NEED_VIEW
};

/*
 * Writes the answer of a route from what it needed: the count the store
 * gave, if any, and `err` when the store failed or the view is not new.
 */
typedef void	route_write(const struct app *, uint64_t count,
		    const char *err, struct reply *);

struct route {
	const char	*path;	/* NULL: any other path ("other" in metrics) */
	enum need	 need;	/* what a GET needs first */
	route_write	*write;
};

#define ROUTE_COUNT	8	/* rows of the table, the unknown path's too */

const struct route *route_find(const char *uri);
const struct route *route_at(size_t);
size_t		 route_index(const struct route *);
const char	*route_label(const struct route *);
enum need	 route_need(const struct route *, enum method);
enum method	 method_match(const char *);

#endif
