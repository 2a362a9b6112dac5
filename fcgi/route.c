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
 * when it knows it (store_ask), else once the store thread found out.
 */
static const struct route routes[] = {
	{ "/",		STORE_VISIT,	respond_page },
	{ "/time",	STORE_VISIT,	respond_time },
	{ "/visits",	STORE_COUNT,	respond_count },
	{ "/healthz",	STORE_NOTHING,	respond_health },
	{ "/readyz",	STORE_READY,	respond_ready },
	{ "/metrics",	STORE_NOTHING,	respond_metrics },
	{ "/cluster",	STORE_NOTHING,	respond_cluster },
	{ NULL,		STORE_NOTHING,	respond_not_found },	/* last */
};
_Static_assert(sizeof(routes) / sizeof(routes[0]) == ROUTE_COUNT,
    "ROUTE_COUNT (route.h) sizes the metrics: it counts every row");

/* The row of a path; an unknown path gets the last row. */
const struct route *
route_find(const char *path, size_t len)
{
	const struct route	*r;

	for (r = routes; r->path != NULL; r++)
		if (strlen(r->path) == len && memcmp(r->path, path, len) == 0)
			break;
	return r;
}

/* The path part of a request URI: the query string does not route. */
size_t
route_path_len(const char *uri)
{
	return strcspn(uri, "?#");
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
 * What the request needs from the store: HEAD answers a counting route
 * without a visit, and a refused method needs nothing.
 */
enum store_ask
route_ask(const struct route *r, enum method m)
{
	if (m == METHOD_OTHER || (m == METHOD_HEAD && r->ask == STORE_VISIT))
		return STORE_NOTHING;
	return r->ask;
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
