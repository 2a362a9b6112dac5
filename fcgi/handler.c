/*
 * handler.c: reads what nginx sent for one request and writes the answer.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cluster.h"
#include "handler.h"
#include "record.h"

#define BODY_SIZE		16384	/* every answer but /metrics */
#define METRICS_BODY_SIZE	65536
#define MAX_DISCARDED_STDIN	65536

/*
 * The largest of those is /cluster with every pod in error: a name and an
 * error each (escaped JSON at most doubles them here: they hold no
 * control characters) and the keys around them.
 */
_Static_assert(BODY_SIZE >= 256 +
    CLUSTER_MAX_PODS * (2 * (CLUSTER_NAME_LEN + CLUSTER_ERROR_LEN) + 64),
    "a /cluster answer with every pod in error must fit BODY_SIZE");

static void	read_target(struct exchange *);
static void	answer(struct exchange *, const char *visit_err);
static void	visit_done(struct store_waiter *, const char *);
static void	ask_store(struct exchange *, unsigned);

/* /metrics is large and rare: one shared buffer instead of one a thread. */
static pthread_mutex_t	metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static char		metrics_body[METRICS_BODY_SIZE];

/*
 * nginx's $uri (DOCUMENT_URI) is already decoded and normalised; any other
 * FastCGI client gets REQUEST_URI without its query string.
 */
static void
read_target(struct exchange *x)
{
	FCGX_Request	*req = &x->request;
	const char	*uri;

	x->method = method_match(FCGX_GetParam("REQUEST_METHOD", req->envp));
	uri = FCGX_GetParam("DOCUMENT_URI", req->envp);
	if (uri == NULL || *uri == '\0')
		uri = FCGX_GetParam("REQUEST_URI", req->envp);
	if (uri == NULL)
		uri = "";
	x->route = route_match(uri, route_path_len(uri));
}

/* Build, write, account; `visit_err` only matters for a visit. */
static void
answer(struct exchange *x, const char *visit_err)
{
	struct reply	r;
	struct buf	head;
	char		head_storage[512], body[BODY_SIZE];
	int		is_metrics = x->route == ROUTE_METRICS;

	if (is_metrics) {
		pthread_mutex_lock(&metrics_lock);
		buf_init(&r.body, metrics_body, sizeof(metrics_body));
	} else
		buf_init(&r.body, body, sizeof(body));

	if (route_counts_visit(x->route, x->method))
		respond_visit(x->app, x->route, visit_err, &r);
	else if (x->waited && x->route == ROUTE_READYZ)
		respond_ready(visit_err, &r);
	else if (x->waited)
		respond_count(x->visit.count, visit_err, &r);	/* /visits */
	else
		respond(x->app, x->method, x->route, &r);

	buf_init(&head, head_storage, sizeof(head_storage));
	reply_head(x->app, &r, &head);
	x->failed = record_send_answer(x->fd, x->request_id, head.data,
	    head.len, r.body.data, x->method == METHOD_HEAD ? 0 : r.body.len)
	    == -1;
	if (is_metrics)
		pthread_mutex_unlock(&metrics_lock);
	metrics_observe(x->app->metrics, x->route, r.status,
	    (uint64_t)clock_monotonic_ns() - x->start_ns);
	x->finished(x);
}

/*
 * On the store thread, once the visit (or check) is on disk, or refused:
 * it answers at once (doc/DESIGN.md, "The answer path").
 */
static void
visit_done(struct store_waiter *w, const char *err)
{
	answer((struct exchange *)((char *)w -
	    offsetof(struct exchange, visit)), err);
}

void
handle_request(struct exchange *x)
{
	char	sink[4096];
	size_t	discarded = 0;
	int	n;

	x->start_ns = (uint64_t)clock_monotonic_ns();
	/*
	 * Read a request body, if any, so that the connection can carry the
	 * next request; past a small limit libfcgi drops the connection.
	 */
	while (discarded < MAX_DISCARDED_STDIN &&
	    (n = FCGX_GetStr(sink, sizeof(sink), x->request.in)) > 0)
		discarded += (size_t)n;

	read_target(x);
	x->waited = 0;
	x->request_id = x->request.requestId;
	x->keep = x->request.keepConnection;
	/* All is read: libfcgi's buffers go back now, not after a sync. */
	FCGX_Free(&x->request, 0);

	/*
	 * A visit is answered once it is stored.  /readyz and /visits are
	 * answered from what the store knows now, and when it does not know
	 * (readiness needs a write to prove; the count is being read again)
	 * once the store thread found out.  None holds this thread meanwhile.
	 */
	memset(&x->visit, 0, sizeof(x->visit));
	if (route_counts_visit(x->route, x->method))
		ask_store(x, 1);
	else if (x->method != METHOD_OTHER && (x->route == ROUTE_READYZ ||
	    x->route == ROUTE_VISITS)) {
		x->waited = 1;
		if (x->route == ROUTE_READYZ ?
		    store_ready_fresh(x->app->store) :
		    store_count_if_known(x->app->store, &x->visit.count))
			answer(x, NULL);
		else
			ask_store(x, 0);
	} else
		answer(x, NULL);
}

/* Hand the request to the store thread: a visit, or a check (0). */
static void
ask_store(struct exchange *x, unsigned increment)
{
	x->visit.increment = increment;
	x->visit.done = visit_done;
	x->waited = 1;
	store_submit(x->app->store, &x->visit);
}
