/* Every endpoint's answer, with a real store in a temporary directory. */
#include "config.h"

#include <unistd.h>

#include "clock.h"
#include "respond.h"
#include "store_wait.h"
#include "tap.h"

static struct app	app;
static char		storage[65536];

/*
 * What handler.c does: the route's row says what to ask the store
 * (store_wait.h waits for the store thread when it must), then respond()
 * writes the answer from what the store said.  With no cluster (no
 * peers), /cluster needs nothing: it is this pod alone.
 */
static struct reply *
ask(enum method m, const char *path)
{
	static struct reply	 r;
	const struct route	*route;
	enum need		 need;
	char			 err[512];
	uint64_t		 n = 0;
	int			 rc = 0;

	route = route_find(path);
	buf_init(&r.body, storage, sizeof(storage));
	need = route_need(route, m);
	if (need != NEED_VIEW)
		rc = ask_wait(app.store, (enum store_ask)need, &n, err,
		    sizeof(err));
	respond(&app, m, route, n, rc == 0 ? NULL : err, &r);
	return &r;
}

static uint64_t
count(void)
{
	uint64_t	n = 0;
	char		err[512];

	count_wait(app.store, &n, err, sizeof(err));
	return n;
}

int
main(void)
{
	struct metrics		 metrics;
	enum store_open_result	 res;
	struct reply		*r;
	struct buf		 head;
	char			 dir[256], err[512], file[300], hs[512];
	char			 expect[64];
	const char		*tmp = getenv("TMPDIR");
	size_t			 len;

	snprintf(dir, sizeof(dir), "%s/test-respond.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(file, sizeof(file), "%s/visits", dir);
	clock_set_zone("Europe/Moscow", err, sizeof(err));
	metrics_init(&metrics);
	app.store = store_open(dir, 1, &res, err, sizeof(err));
	app.metrics = &metrics;
	app.hostname = "visits-0";
	app.timezone = "Europe/Moscow";

	r = ask(METHOD_GET, "/time");
	is_int(r->status, 200, "GET /time is 200");
	is_str(r->content_type, "application/json", "JSON");
	ok(r->body.len == 20 && memcmp(r->body.data, "{\"time\":\"", 9) == 0 &&
	    r->body.data[11] == ':' && r->body.data[14] == ':' &&
	    strcmp(r->body.data + 17, "\"}\n") == 0,
	    "body is {\"time\":\"HH:MM:SS\"}: %s", r->body.data);
	is_u64(count(), 1, "GET /time counted");

	r = ask(METHOD_GET, "/");
	is_int(r->status, 200, "GET / is 200");
	is_str(r->content_type, "text/html; charset=utf-8", "HTML");
	has_str(r->body.data, "visits-0", "the page names the host");
	has_str(r->body.data, "<p id=\"time\">", "the page shows the time");
	is_u64(count(), 2, "GET / counted");
	len = r->body.len;

	r = ask(METHOD_HEAD, "/");
	is_int(r->status, 200, "HEAD / is 200");
	is_int(r->body.len, len, "same length as GET (for Content-Length)");
	r = ask(METHOD_HEAD, "/time");
	is_u64(count(), 2, "HEAD never counts");

	r = ask(METHOD_GET, "/visits");
	is_str(r->body.data, "{\"visits\":2}\n", "/visits shows the count");
	r = ask(METHOD_GET, "/healthz");
	is_int(r->status, 200, "/healthz 200");
	is_str(r->body.data, "{\"status\":\"ok\"}\n", "/healthz body");
	r = ask(METHOD_GET, "/readyz");
	is_int(r->status, 200, "/readyz 200");
	is_str(r->body.data, "{\"status\":\"ready\"}\n", "/readyz body");
	r = ask(METHOD_GET, "/metrics");
	is_int(r->status, 200, "/metrics 200");
	is_str(r->content_type, "text/plain; version=0.0.4; charset=utf-8",
	    "Prometheus content type");
	has_str(r->body.data, "\nvisits_total 2\n", "metrics has the count");
	r = ask(METHOD_GET, "/cluster");
	is_int(r->status, 200, "/cluster 200");
	is_str(r->body.data, "{\"served_by\":\"visits-0\",\"pods\":"
	    "[{\"name\":\"visits-0\",\"visits\":2}],\"total\":2}\n",
	    "no peers: /cluster is this pod alone, its count from the store");
	buf_init(&r->body, storage, sizeof(storage));
	respond(&app, METHOD_GET, route_find("/cluster"), 0,
	    "visits-headless: still being looked up after 500 ms", r);
	is_int(r->status, 200, "no new view in time: /cluster is still 200");
	is_str(r->body.data, "{\"served_by\":\"visits-0\",\"pods\":"
	    "[{\"name\":\"visits-0\",\"visits\":2}],\"total\":2,\"stale\":"
	    "\"visits-headless: still being looked up after 500 ms; no view "
	    "yet\"}\n", "this pod alone, marked stale, with the reason");
	r = ask(METHOD_GET, "/");
	has_str(r->body.data, "<table id=\"cluster\">", "the page has the "
	    "table that its script fills from /cluster");
	ok(strstr(r->body.data, "src=") == NULL &&
	    strstr(r->body.data, "http") == NULL, "and loads nothing from "
	    "elsewhere");
	has_str(r->body.data, "<style>", "its stylesheet is inline");
	has_str(r->body.data, "tr.className='self'", "the script marks the "
	    "row of the pod that served the page");
	ok(r->body.len < 2048, "the page stays small (%zu bytes)",
	    r->body.len);
	is_u64(count(), 3, "/cluster did not count, / did");
	r = ask(METHOD_GET, "/time?x=1");
	is_int(r->status, 200, "query strings do not route");
	is_u64(count(), 4, "and it counted");
	r = ask(METHOD_GET, "/nope");
	is_int(r->status, 404, "404");
	is_str(r->body.data, "{\"error\":\"not found\"}\n", "404 body");
	r = ask(METHOD_OTHER, "/time");
	is_int(r->status, 405, "other methods 405");
	ok(r->allow, "with Allow");
	is_str(r->body.data, "{\"error\":\"method not allowed\"}\n",
	    "405 body");
	is_u64(count(), 4, "none of those counted");

	buf_init(&head, hs, sizeof(hs));
	reply_head(&app, r, &head);
	snprintf(expect, sizeof(expect), "Content-Length: %zu\r\n",
	    r->body.len);
	has_str(head.data, "Status: 405 Method Not Allowed\r\n", "status "
	    "line");
	has_str(head.data, expect, "Content-Length");
	has_str(head.data, "Cache-Control: no-store\r\n", "no-store");
	has_str(head.data, "X-Served-By: visits-0\r\n", "X-Served-By");
	has_str(head.data, "Allow: GET, HEAD\r\n", "Allow");
	ok(strstr(head.data, "\r\n\r\n") == head.data + head.len - 4,
	    "headers end with an empty line");

	/* A corrupt file: counting requests get 503, nothing changes. */
	{
		FILE	*f = fopen(file, "w");

		fputs("oops\n", f);
		fclose(f);
	}
	r = ask(METHOD_GET, "/time");
	is_int(r->status, 503, "a corrupt file: GET /time is 503");
	has_str(r->body.data, "{\"error\":\"", "with a JSON error");
	has_str(r->body.data, "not a valid count", "that says why");
	r = ask(METHOD_GET, "/readyz");
	is_int(r->status, 503, "and /readyz is 503");
	has_str(r->body.data, "\"status\":\"not ready\"", "not ready");
	r = ask(METHOD_GET, "/healthz");
	is_int(r->status, 200, "while /healthz stays 200 (alive)");

	store_close(app.store);
	unlink(file);
	rmdir(dir);
	return tap_done();
}
