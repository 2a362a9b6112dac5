/*
 * route.c: request routing.
 */
#include "config.h"

#include <string.h>

#include "route.h"

static const struct {
	const char	*path;
	enum route	 route;
} routes[] = {
	{ "/",		ROUTE_INDEX },
	{ "/time",	ROUTE_TIME },
	{ "/visits",	ROUTE_VISITS },
	{ "/healthz",	ROUTE_HEALTHZ },
	{ "/readyz",	ROUTE_READYZ },
	{ "/metrics",	ROUTE_METRICS },
	{ "/cluster",	ROUTE_CLUSTER },
};

/* Labels for /metrics; "other" keeps the label set bounded. */
static const char *const labels[ROUTE_COUNT] = {
	"/", "/time", "/visits", "/healthz", "/readyz", "/metrics", "/cluster",
	"other"
};

enum route
route_match(const char *path, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == len &&
		    memcmp(routes[i].path, path, len) == 0)
			return routes[i].route;
	return ROUTE_NOT_FOUND;
}

/* The path part of a request URI: the query string does not route. */
size_t
route_path_len(const char *uri)
{
	return strcspn(uri, "?#");
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

const char *
route_label(enum route r)
{
	return labels[r];
}

/* A visit is a GET of / or /time; HEAD, probes and scrapes never count. */
int
route_counts_visit(enum route r, enum method m)
{
	return m == METHOD_GET && (r == ROUTE_INDEX || r == ROUTE_TIME);
}
