/*
 * route.c: the route table, and the lookups on it.
 */
#include "config.h"

#include <string.h>

#include "respond.h"
#include "route.h"

/*
 * A visit is a GET of / or /time: probes, scrapes and /visits never
 * count.  /visits and /readyz are answered from what the store knows
 * when it knows it (store_ask), else once the store thread found out;
 * /cluster from a view made less than a second ago, else once the next
 * one is made (cluster_ask).  The page never waits: its script asks
 * /cluster.
 */
static const struct route routes[] = {
	{ "/",		NEED_VISIT,	respond_page },
	{ "/time",	NEED_VISIT,	respond_time },
	{ "/visits",	NEED_COUNT,	respond_count },
	{ "/healthz",	NEED_NOTHING,	respond_health },
	{ "/readyz",	NEED_READY,	respond_ready },
	{ "/metrics",	NEED_NOTHING,	respond_metrics },
	{ "/cluster",	NEED_VIEW,	respond_cluster },
	{ NULL,		NEED_NOTHING,	respond_not_found },	/* last */
};
_Static_assert(sizeof(routes) / sizeof(routes[0]) == ROUTE_COUNT,
    "ROUTE_COUNT (route.h) sizes the metrics: it counts every row");

/*
 * The row of a request URI's path (the query string does not route); an
 * unknown path gets the last row.
 */
const struct route *
route_find(const char *uri)
{
	const struct route	*r;
	size_t			 len = strcspn(uri, "?#");

	for (r = routes; r->path != NULL; r++)
		if (strlen(r->path) == len && memcmp(r->path, uri, len) == 0)
			break;
	return r;
}

const struct route *
route_at(size_t i)
{
	return &routes[i];
}

size_t
route_index(const struct route *r)
{
	return (size_t)(r - routes);
}

/* For /metrics: every unknown path is one label, so the set is bounded. */
const char *
route_label(const struct route *r)
{
	return r->path != NULL ? r->path : "other";
}

/*
 * What the request needs first: HEAD answers a counting route without a
 * visit, and a refused method needs nothing.
 */
enum need
route_need(const struct route *r, enum method m)
{
	if (m == METHOD_OTHER || (m == METHOD_HEAD && r->need == NEED_VISIT))
		return NEED_NOTHING;
	return r->need;
}

enum method
method_match(const char *method)
{
	if (method == NULL)
		return METHOD_OTHER;
	if (strcmp(method, "GET") == 0)
		return METHOD_GET;
	if (strcmp(method, "HEAD") == 0)
		return METHOD_HEAD;
	return METHOD_OTHER;
}
