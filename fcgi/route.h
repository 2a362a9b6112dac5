/*
 * route.h: which endpoint a request is for.  Pure functions, no I/O.
 */
#ifndef VISITS_ROUTE_H
#define VISITS_ROUTE_H

#include <stddef.h>

enum route {
	ROUTE_INDEX,		/* GET /        counts a visit */
	ROUTE_TIME,		/* GET /time    counts a visit */
	ROUTE_VISITS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE_CLUSTER,
	ROUTE_NOT_FOUND
};
#define ROUTE_COUNT	(ROUTE_NOT_FOUND + 1)

enum method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_OTHER
};

enum route	 route_match(const char *path, size_t len);
size_t		 route_path_len(const char *uri);
enum method	 method_match(const char *);
const char	*route_label(enum route);
int		 route_counts_visit(enum route, enum method);

#endif
