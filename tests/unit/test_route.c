/* Routing: paths, query strings, methods, and what counts as a visit. */
#include "config.h"

#include "route.h"
#include "tap.h"

static enum route
route_of(const char *uri)
{
	return route_match(uri, route_path_len(uri));
}

int
main(void)
{
	is_int(route_of("/"), ROUTE_INDEX, "/ is the index");
	is_int(route_of("/time"), ROUTE_TIME, "/time");
	is_int(route_of("/visits"), ROUTE_VISITS, "/visits");
	is_int(route_of("/healthz"), ROUTE_HEALTHZ, "/healthz");
	is_int(route_of("/readyz"), ROUTE_READYZ, "/readyz");
	is_int(route_of("/metrics"), ROUTE_METRICS, "/metrics");
	is_int(route_of("/cluster"), ROUTE_CLUSTER, "/cluster");
	is_int(route_of("/time?x=1"), ROUTE_TIME, "query string ignored");
	is_int(route_of("/?a=b&c"), ROUTE_INDEX, "query on /");
	is_int(route_of("/time#frag"), ROUTE_TIME, "fragment ignored");
	is_int(route_of("/time/"), ROUTE_NOT_FOUND, "/time/ is not /time");
	is_int(route_of("/TIME"), ROUTE_NOT_FOUND, "paths are case sensitive");
	is_int(route_of("/timex"), ROUTE_NOT_FOUND, "prefix is not a match");
	is_int(route_of("/tim"), ROUTE_NOT_FOUND, "shorter is not a match");
	is_int(route_of(""), ROUTE_NOT_FOUND, "empty path");
	is_int(route_of("?"), ROUTE_NOT_FOUND, "query only");
	is_int(route_of("/nope"), ROUTE_NOT_FOUND, "unknown path");

	is_int(method_match("GET"), METHOD_GET, "GET");
	is_int(method_match("HEAD"), METHOD_HEAD, "HEAD");
	is_int(method_match("get"), METHOD_OTHER, "methods are case "
	    "sensitive");
	is_int(method_match("POST"), METHOD_OTHER, "POST");
	is_int(method_match(""), METHOD_OTHER, "empty method");
	is_int(method_match(NULL), METHOD_OTHER, "no method");

	ok(route_counts_visit(ROUTE_INDEX, METHOD_GET), "GET / counts");
	ok(route_counts_visit(ROUTE_TIME, METHOD_GET), "GET /time counts");
	ok(!route_counts_visit(ROUTE_TIME, METHOD_HEAD), "HEAD does not");
	ok(!route_counts_visit(ROUTE_VISITS, METHOD_GET), "/visits does not");
	ok(!route_counts_visit(ROUTE_HEALTHZ, METHOD_GET), "probes do not");
	ok(!route_counts_visit(ROUTE_READYZ, METHOD_GET), "readyz does not");
	ok(!route_counts_visit(ROUTE_METRICS, METHOD_GET), "scrapes do not");
	ok(!route_counts_visit(ROUTE_CLUSTER, METHOD_GET), "/cluster does "
	    "not");
	is_str(route_label(ROUTE_CLUSTER), "/cluster", "/cluster's label");
	ok(!route_counts_visit(ROUTE_NOT_FOUND, METHOD_GET), "404 does not");
	ok(!route_counts_visit(ROUTE_TIME, METHOD_OTHER), "POST does not");
	is_str(route_label(ROUTE_NOT_FOUND), "other", "bounded labels");
	return tap_done();
}
