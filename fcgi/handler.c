/*
 * handler.c: reads what nginx sent for one request and writes the answer.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "handler.h"

#define METRICS_BODY_SIZE	65536
#define MAX_DISCARDED_STDIN	65536

static uint64_t	now_ns(void);
static void	request_target(FCGX_Request *, enum method *, enum route *);

/* /metrics is large and rare: one shared buffer instead of one a thread. */
static pthread_mutex_t	metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static char		metrics_body[METRICS_BODY_SIZE];

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * nginx's $uri (DOCUMENT_URI) is already decoded and normalised; any other
 * FastCGI client gets REQUEST_URI without its query string.
 */
static void
request_target(FCGX_Request *req, enum method *method, enum route *route)
{
	const char	*uri;

	*method = method_match(FCGX_GetParam("REQUEST_METHOD", req->envp));
	uri = FCGX_GetParam("DOCUMENT_URI", req->envp);
	if (uri == NULL || *uri == '\0')
		uri = FCGX_GetParam("REQUEST_URI", req->envp);
	if (uri == NULL)
		uri = "";
	*route = route_match(uri, route_path_len(uri));
}

void
handle_request(const struct app *app, FCGX_Request *req,
    char body[HANDLER_BODY_SIZE])
{
	struct reply	r;
	struct buf	head;
	char		head_storage[512], sink[4096];
	enum method	method;
	enum route	route;
	uint64_t	start = now_ns();
	size_t		discarded = 0;
	int		n, is_metrics;

	/*
	 * Read a request body, if any, so that the connection can carry the
	 * next request; past a small limit libfcgi drops the connection.
	 */
	while (discarded < MAX_DISCARDED_STDIN &&
	    (n = FCGX_GetStr(sink, sizeof(sink), req->in)) > 0)
		discarded += (size_t)n;

	request_target(req, &method, &route);
	is_metrics = route == ROUTE_METRICS;
	if (is_metrics) {
		pthread_mutex_lock(&metrics_lock);
		buf_init(&r.body, metrics_body, sizeof(metrics_body));
	} else
		buf_init(&r.body, body, HANDLER_BODY_SIZE);

	respond(app, method, route, &r);

	buf_init(&head, head_storage, sizeof(head_storage));
	reply_head(app, &r, &head);
	FCGX_PutStr(head.data, (int)head.len, req->out);
	if (method != METHOD_HEAD)
		FCGX_PutStr(r.body.data, (int)r.body.len, req->out);
	if (is_metrics)
		pthread_mutex_unlock(&metrics_lock);
	metrics_observe(app->metrics, route, r.status, now_ns() - start);
}
