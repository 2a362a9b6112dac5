/* Routing: paths, query strings, methods, and what each needs first. */
#include "config.h"

#include "route.h"
#include "tap.h"

static const char *
label_of(const char *uri)
{
	return route_label(route_find(uri));
}

/* What each method of a path needs first. */
static const struct {
	const char	*uri;
	enum method	 method;
	enum need	 want;
	const char	*desc;
} needs[] = {
	{ "/", METHOD_GET, NEED_VISIT, "GET / counts" },
	{ "/time", METHOD_GET, NEED_VISIT, "GET /time counts" },
	{ "/time", METHOD_HEAD, NEED_NOTHING, "HEAD does not" },
	{ "/time", METHOD_OTHER, NEED_NOTHING, "POST does not" },
	{ "/visits", METHOD_GET, NEED_COUNT, "/visits reads the count" },
	{ "/visits", METHOD_HEAD, NEED_COUNT, "so does HEAD /visits (the "
	    "same Content-Length)" },
	{ "/readyz", METHOD_GET, NEED_READY, "/readyz asks for proof that "
	    "the file can be written" },
	{ "/healthz", METHOD_GET, NEED_NOTHING, "/healthz needs nothing "
	    "first" },
	{ "/metrics", METHOD_GET, NEED_NOTHING, "nor do scrapes" },
	{ "/cluster", METHOD_GET, NEED_VIEW, "/cluster needs a fresh view of "
	    "the cluster" },
	{ "/cluster", METHOD_HEAD, NEED_VIEW, "so does HEAD /cluster (the "
	    "same Content-Length)" },
	{ "/cluster", METHOD_OTHER, NEED_NOTHING, "not POST" },
	{ "/nope", METHOD_GET, NEED_NOTHING, "nor a 404" },
};

int
main(void)
{
	size_t	i;
	int	rows_ok = 1;

	is_str(label_of("/"), "/", "/ is the index");
	is_str(label_of("/time"), "/time", "/time");
	is_str(label_of("/visits"), "/visits", "/visits");
	is_str(label_of("/healthz"), "/healthz", "/healthz");
	is_str(label_of("/readyz"), "/readyz", "/readyz");
	is_str(label_of("/metrics"), "/metrics", "/metrics");
	is_str(label_of("/cluster"), "/cluster", "/cluster");
	is_str(label_of("/time?x=1"), "/time", "query string ignored");
	is_str(label_of("/?a=b&c"), "/", "query on /");
	is_str(label_of("/time#frag"), "/time", "fragment ignored");
	is_str(label_of("/time/"), "other", "/time/ is not /time");
	is_str(label_of("/TIME"), "other", "paths are case sensitive");
	is_str(label_of("/timex"), "other", "prefix is not a match");
	is_str(label_of("/tim"), "other", "shorter is not a match");
	is_str(label_of(""), "other", "empty path");
	is_str(label_of("?"), "other", "query only");
	is_str(label_of("/nope"), "other", "unknown paths share one label");

	is_int(method_match("GET"), METHOD_GET, "GET");
	is_int(method_match("HEAD"), METHOD_HEAD, "HEAD");
	is_int(method_match("get"), METHOD_OTHER, "methods are case "
	    "sensitive");
	is_int(method_match("POST"), METHOD_OTHER, "POST");
	is_int(method_match(""), METHOD_OTHER, "empty method");
	is_int(method_match(NULL), METHOD_OTHER, "no method");

	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		is_int(route_need(route_find(needs[i].uri), needs[i].method),
		    needs[i].want, "%s", needs[i].desc);

	for (i = 0; i < ROUTE_COUNT; i++)
		if (route_at(i)->write == NULL)
			rows_ok = 0;
	ok(rows_ok, "ROUTE_COUNT rows, each with its answer");
	ok(route_find("/nope") == route_at(ROUTE_COUNT - 1), "the unknown "
	    "path is the last row");
	return tap_done();
}
