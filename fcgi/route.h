/*
 * route.h: the routes.  One table (route.c) says, for each path, what the
 * store must do before the answer and which function writes the answer;
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

/* Writes the answer of a route from the count the store gave, if any. */
typedef void	route_write(const struct app *, uint64_t count,
		    const char *store_err, struct reply *);

struct route {
	const char	*path;	/* NULL: any other path ("other" in metrics) */
	enum store_ask	 ask;	/* what a GET needs from the store first */
	route_write	*write;
};

#define ROUTE_COUNT	8	/* rows of the table, the unknown path's too */

const struct route *route_find(const char *path, size_t len);
size_t		 route_path_len(const char *uri);
const struct route *route_at(size_t);
size_t		 route_index(const struct route *);
const char	*route_label(const struct route *);
enum store_ask	 route_ask(const struct route *, enum method);
enum method	 method_match(const char *);

#endif
