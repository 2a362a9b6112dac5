/*
 * respond.c: the answers of every endpoint.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "respond.h"

#define JSON_TYPE	"application/json"
#define HTML_TYPE	"text/html; charset=utf-8"
#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/*
 * The page: the time, the pod that served it, and the table of every
 * pod's count, filled from /cluster once the page is shown, so that the
 * page's own answer never waits for the other pods.  Inline, with no
 * external script, style or font; without JavaScript the page still has
 * the time and the pod.
 */
#define PAGE_HEAD \
"<!doctype html>\n" \
"<html lang=\"en\">\n" \
"<head><meta charset=\"utf-8\">\n" \
"<meta name=\"viewport\" " \
"content=\"width=device-width,initial-scale=1\">\n" \
"<style>\n" \
"body{font:1rem/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;" \
"padding:0 1rem;color:#222}\n" \
"h1{font-size:1.25rem;font-weight:400;color:#555;margin:0}\n" \
"#time{font-size:4rem;font-weight:600;margin:0;" \
"font-variant-numeric:tabular-nums}\n" \
"table{border-collapse:collapse;width:100%}\n" \
"thead,tfoot{background:#e8e8e8}\n" \
"th,td{border:1px solid #ccc;padding:.25rem .75rem;text-align:left}\n" \
"th+th,td+td{text-align:right;font-variant-numeric:tabular-nums}\n" \
"tbody tr:nth-child(even){background:#f3f3f3}\n" \
"tbody tr.self{background:#fff2b8;font-weight:600}\n" \
"</style>\n" \
"<title>"

#define CLUSTER_TABLE \
"<h2>Visits by pod</h2>\n" \
"<table id=\"cluster\"><thead><tr><th>pod</th><th>visits</th></tr>" \
"</thead>\n<tbody></tbody>\n<tfoot><tr><th>total</th><th id=\"total\">" \
"</th></tr></tfoot></table>\n" \
"<noscript><p>The table needs JavaScript; " \
"<a href=\"/cluster\">/cluster</a> has the counts.</p></noscript>\n" \
"<script>\n" \
"fetch('/cluster',{cache:'no-store'}).then(function(r){return r.json();})" \
".then(function(c){\n" \
" var t=document.querySelector('#cluster tbody');\n" \
" c.pods.forEach(function(p){\n" \
"  var tr=t.insertRow(),n=tr.insertCell(),v=tr.insertCell();\n" \
"  if(p.name===c.served_by)tr.className='self';\n" \
"  n.textContent=p.name+(p.name===c.served_by?' (this page)':'');\n" \
"  v.textContent='visits' in p?p.visits:p.error;\n" \
" });\n" \
" document.getElementById('total').textContent=c.total;\n" \
"}).catch(function(e){\n" \
" document.getElementById('total').textContent='unavailable: '+e;\n" \
"});\n" \
"</script>\n"

static const char *status_reason(int);
static void	json_error(struct reply *, int, const char *);
static void	put_place(struct buf *, const char *);
static void	put_pod(struct buf *, const char *name, int ok, uint64_t,
		    const char *err);

static const char *
status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void
json_error(struct reply *r, int status, const char *message)
{
	r->status = status;
	r->content_type = JSON_TYPE;
	r->body.len = 0;
	r->body.overflow = 0;
	buf_puts(&r->body, "{\"error\":");
	buf_put_json_string(&r->body, message);
	buf_puts(&r->body, "}\n");
}

/* "Europe/Moscow" is "Moscow", "America/New_York" is "New York". */
static void
put_place(struct buf *b, const char *zone)
{
	const char	*slash = strrchr(zone, '/');
	char		 place[64];
	size_t		 i;

	snprintf(place, sizeof(place), "%s", slash != NULL ? slash + 1 : zone);
	for (i = 0; place[i] != '\0'; i++)
		if (place[i] == '_')
			place[i] = ' ';
	buf_put_html(b, place);
}

/*
 * The one answer of every request: a refused method, a store that could
 * not do what the route needs (503 with the reason: a visit not counted,
 * no count to show), or the route's own answer.  /readyz is the store's
 * state itself, and /cluster answers from the last view when no new one
 * came, so their answers are written either way.
 */
void
respond(const struct app *app, enum method method, const struct route *route,
    uint64_t count, const char *err, struct reply *r)
{
	r->status = 200;
	r->content_type = JSON_TYPE;
	r->allow = 0;
	if (method == METHOD_OTHER) {
		json_error(r, 405, "method not allowed");
		r->allow = 1;
	} else if (err != NULL && route->need != NEED_READY &&
	    route->need != NEED_VIEW)
		json_error(r, 503, err);
	else
		route->write(app, count, err, r);
	if (r->body.overflow)
		json_error(r, 500, "answer too large");
}

void
respond_page(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	char	hms[CLOCK_HMS_LEN + 1];

	clock_now_hms(hms);
	r->content_type = HTML_TYPE;
	buf_puts(&r->body, PAGE_HEAD);
	put_place(&r->body, app->timezone);
	buf_puts(&r->body, " time</title>\n</head>\n<body>\n<h1>");
	put_place(&r->body, app->timezone);
	buf_puts(&r->body, " time</h1>\n<p id=\"time\">");
	buf_puts(&r->body, hms);
	buf_puts(&r->body, "</p>\n<p>Served by <code id=\"host\">");
	buf_put_html(&r->body, app->hostname);
	buf_puts(&r->body, "</code></p>\n" CLUSTER_TABLE "</body>\n</html>\n");
}

void
respond_time(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	char	hms[CLOCK_HMS_LEN + 1];

	clock_now_hms(hms);
	buf_printf(&r->body, "{\"time\":\"%s\"}\n", hms);
}

void
respond_count(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	buf_puts(&r->body, "{\"visits\":");
	buf_put_u64(&r->body, count);
	buf_puts(&r->body, "}\n");
}

void
respond_health(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	buf_puts(&r->body, "{\"status\":\"ok\"}\n");
}

/* Ready, or why not: the error of the check that tried to write. */
void
respond_ready(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	if (err == NULL) {
		buf_puts(&r->body, "{\"status\":\"ready\"}\n");
		return;
	}
	r->status = 503;
	buf_puts(&r->body, "{\"status\":\"not ready\",\"error\":");
	buf_put_json_string(&r->body, err);
	buf_puts(&r->body, "}\n");
}

void
respond_metrics(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	struct store_stats	st;

	store_stats(app->store, &st);
	r->content_type = METRICS_TYPE;
	metrics_render(app->metrics, &st, &r->body);
}

void
respond_not_found(const struct app *app, uint64_t count,
    const char *err, struct reply *r)
{
	json_error(r, 404, "not found");
}

static void
put_pod(struct buf *b, const char *name, int ok, uint64_t visits,
    const char *err)
{
	buf_puts(b, "{\"name\":");
	buf_put_json_string(b, name);
	if (ok) {
		buf_puts(b, ",\"visits\":");
		buf_put_u64(b, visits);
	} else {
		buf_puts(b, ",\"error\":");
		buf_put_json_string(b, err);
	}
	buf_puts(b, "}");
}

/*
 * /cluster: the current view (cluster.h), the one made for this request
 * or one less than a second old; this pod's count is the store's.  When
 * no new view came in time, `err` says why, and "stale" says so with the
 * view's age.
 */
void
respond_cluster(const struct app *app, uint64_t count, const char *err,
    struct reply *r)
{
	struct cluster_view		 v;
	const struct cluster_pod	*p;
	struct store_stats		 st;
	uint64_t			 total = 0;
	unsigned			 i, rows;
	char				 stale[CLUSTER_ERROR_LEN + 64];

	store_stats(app->store, &st);
	cluster_copy_view(app->cluster, &v);
	/* No view yet: this pod alone, the row every view has (cluster.c). */
	if (v.n == 0)
		v.pods[0] = (struct cluster_pod){ .self = 1 };
	rows = v.n > 0 ? v.n : 1;
	buf_puts(&r->body, "{\"served_by\":");
	buf_put_json_string(&r->body, app->hostname);
	buf_puts(&r->body, ",\"pods\":[");
	for (i = 0; i < rows; i++) {
		p = &v.pods[i];
		if (i > 0)
			buf_puts(&r->body, ",");
		if (p->self)
			put_pod(&r->body, app->hostname, st.count_known,
			    st.count, "count not known yet");
		else
			put_pod(&r->body, p->name, p->ok, p->visits, p->error);
		if (p->ok)
			total += p->visits;
	}
	if (st.count_known)
		total += st.count;
	buf_puts(&r->body, "],\"total\":");
	buf_put_u64(&r->body, total);
	if (v.n > 0 && v.error[0] != '\0') {
		buf_puts(&r->body, ",\"peers_error\":");
		buf_put_json_string(&r->body, v.error);
	}
	if (err != NULL) {
		if (v.n > 0)
			snprintf(stale, sizeof(stale), "%s; this view is "
			    "%.1f s old", err, (double)(clock_monotonic_ns() -
			    v.made_ns) / 1e9);
		else
			snprintf(stale, sizeof(stale), "%s; no view yet", err);
		buf_puts(&r->body, ",\"stale\":");
		buf_put_json_string(&r->body, stale);
	}
	buf_puts(&r->body, "}\n");
}

/* The CGI-style header block that libfcgi sends ahead of the body. */
void
reply_head(const struct app *app, const struct reply *r, struct buf *out)
{
	buf_printf(out, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Served-By: %s\r\n",
	    r->status, status_reason(r->status), r->content_type,
	    r->body.len, app->hostname);
	if (r->allow)
		buf_puts(out, "Allow: GET, HEAD\r\n");
	buf_puts(out, "\r\n");
}
