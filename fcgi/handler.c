/*
 * handler.c: reads what nginx sent for one request and writes the answer.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "clock.h"
#include "cluster.h"
#include "handler.h"
#include "record.h"

#define BODY_SIZE		65536	/* the largest answer: /metrics */
#define MAX_DISCARDED_STDIN	65536

/*
 * /cluster with every pod in error must fit too: a name and an error
 * each (escaped JSON at most doubles them here: they hold no control
 * characters), the keys around them, the lookup's error and why the
 * view is stale.
 */
_Static_assert(BODY_SIZE >= 512 + 4 * CLUSTER_ERROR_LEN +
    CLUSTER_MAX_PODS * (2 * (CLUSTER_NAME_LEN + CLUSTER_ERROR_LEN) + 64),
    "a /cluster answer with every pod in error must fit BODY_SIZE");

static void	read_target(struct exchange *);
static int	wait_first(struct exchange *);
static void	answer(struct exchange *, const char *err);
static void	stored(struct store_waiter *, const char *);
static void	viewed(struct cluster_waiter *, const char *);

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
	x->route = route_find(uri);
}

/* Build, write, account: the one place an answer is written. */
static void
answer(struct exchange *x, const char *err)
{
	struct reply	r;
	struct buf	head;
	char		head_storage[512], body[BODY_SIZE];

	buf_init(&r.body, body, sizeof(body));
	respond(x->app, x->method, x->route, x->stored.count, err, &r);
	buf_init(&head, head_storage, sizeof(head_storage));
	reply_head(x->app, &r, &head);
	x->failed = record_send_answer(x->fd, x->request_id, head.data,
	    head.len, r.body.data, x->method == METHOD_HEAD ? 0 : r.body.len)
	    == -1;
	metrics_observe(x->app->metrics, x->route, r.status,
	    (uint64_t)clock_monotonic_ns() - x->start_ns);
	x->finished(x);
}

/*
 * On the store thread, once the visit (or check) is on disk, or refused:
 * it answers at once (doc/DESIGN.md, "The answer path").
 */
static void
stored(struct store_waiter *w, const char *err)
{
	answer((struct exchange *)((char *)w -
	    offsetof(struct exchange, stored)), err);
}

/*
 * On the view's thread, once a new view is published or none came in
 * time (cluster.h): it answers at once, as the store thread does.
 */
static void
viewed(struct cluster_waiter *w, const char *err)
{
	answer((struct exchange *)((char *)w -
	    offsetof(struct exchange, viewed)), err);
}

/*
 * Asks for what the route needs first (route.c).  1: the request waits,
 * and the store's thread or the view's answers it; 0: answer it now.
 */
static int
wait_first(struct exchange *x)
{
	enum need	need = route_need(x->route, x->method);

	if (need == NEED_VIEW)
		return cluster_ask(x->app->cluster, &x->viewed);
	return store_ask(x->app->store, (enum store_ask)need, &x->stored);
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
	x->request_id = x->request.requestId;
	x->keep = x->request.keepConnection;
	/* All is read: libfcgi's buffers go back now, not after a sync. */
	FCGX_Free(&x->request, 0);

	memset(&x->stored, 0, sizeof(x->stored));
	x->stored.done = stored;
	x->viewed.done = viewed;
	if (wait_first(x) == 0)
		answer(x, NULL);
}
