/*
 * The cluster view: a pod's answer read, and views made by the real
 * threads when requests ask (cluster_ask, as handler.c does): for a
 * name that lists only this host, for one that does not resolve, and for
 * no cluster at all.
 */
#include "config.h"

#include <pthread.h>
#include <unistd.h>

#include "clock.h"
#include "cluster.h"
#include "tap.h"
#define NGINX_HEAD \
	"HTTP/1.1 200 OK\r\nServer: nginx\r\n" \
	"Content-Type: application/json\r\nContent-Length: 14\r\n" \
	"Connection: close\r\nCache-Control: no-store\r\n"

static const char *
parse(const char *answer, uint64_t *v, char *name)
{
	return cluster_parse_answer(answer, strlen(answer), v, name,
	    CLUSTER_NAME_LEN);
}

/* A request waiting for a view; the test thread waits for its answer. */
struct wait {
	struct cluster_waiter	 w;	/* first: done() gets it back */
	int			 finished;	/* under lock */
	char			 err[256];
	long long		 made_ns;	/* of the view it got */
};

static struct cluster	*cluster;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cond = PTHREAD_COND_INITIALIZER;

/* On the view's thread, as handler.c's viewed(): what the answer sees. */
static void
waited(struct cluster_waiter *w, const char *err)
{
	struct wait		*wt = (struct wait *)w;
	struct cluster_view	 v;

	cluster_copy_view(cluster, &v);
	pthread_mutex_lock(&lock);
	snprintf(wt->err, sizeof(wt->err), "%s", err != NULL ? err : "");
	wt->made_ns = v.n > 0 ? v.made_ns : 0;
	wt->finished++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* cluster_ask(): 1 if the request waits (then its answer is awaited). */
static int
ask(struct wait *wt)
{
	int	waits;

	memset(wt, 0, sizeof(*wt));
	wt->w.done = waited;
	waits = cluster_ask(cluster, &wt->w);
	return waits;
}

static void
await(struct wait *wt)
{
	pthread_mutex_lock(&lock);
	while (!wt->finished)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static int
finished(struct wait *wt)
{
	int	n;

	pthread_mutex_lock(&lock);
	n = wt->finished;
	pthread_mutex_unlock(&lock);
	return n;
}

/* Until the current view is older than a view may be. */
static void
let_it_age(void)
{
	usleep((CLUSTER_REFRESH_MS + 100) * 1000);
}

int
main(void)
{
	struct wait			 a[7];
	int				 waits[7];
	struct cluster_view		 v;
	char				 name[CLUSTER_NAME_LEN], err[256];
	uint64_t			 n = 0;
	int				 i;

	ok(parse(NGINX_HEAD "X-Served-By: visits-1\r\n\r\n{\"visits\":16}\n",
	    &n, name) == NULL, "nginx's answer to /visits is read");
	is_u64(n, 16, "its count");
	is_str(name, "visits-1", "the pod's name from X-Served-By");
	ok(parse(NGINX_HEAD "x-served-by:visits-2\r\n\r\n{\"visits\":0}",
	    &n, name) == NULL && n == 0, "header names in any case");
	is_str(name, "visits-2", "its value");
	ok(parse(NGINX_HEAD "\r\n{\"visits\":18446744073709551615}", &n,
	    name) == NULL && n == UINT64_MAX, "the largest count");
	is_str(name, "", "no X-Served-By: no name");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":18446744073709551616}",
	    &n, name), "range", "a count that does not fit");
	has_str(parse("HTTP/1.1 503 Service Unavailable\r\n\r\n"
	    "{\"error\":\"disk\"}", &n, name), "HTTP error", "a 503");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":}", &n, name), "no count",
	    "no digits");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":12", &n, name), "no count",
	    "a cut body");
	has_str(parse(NGINX_HEAD "X-Served-By: visits-1", &n, name),
	    "incomplete", "cut headers");
	has_str(parse("SSH-2.0-OpenSSH\r\n", &n, name), "not an HTTP",
	    "not HTTP");
	ok(parse(NGINX_HEAD "X-Served-By: <b>x</b>\r\n\r\n{\"visits\":1}",
	    &n, name) == NULL, "a name that is not a host name");
	is_str(name, "", "is dropped");

	/* "localhost": only this host's own addresses, which are skipped. */
	cluster = cluster_start("localhost", VISITS_HTTP_PORT, "visits-0",
	    err, sizeof(err));
	if (cluster == NULL)
		return 99;
	usleep(100000);
	cluster_copy_view(cluster, &v);
	ok(v.n == 0, "nothing is looked up or asked "
	    "before a request needs it");
	ok(ask(&a[0]) == 1, "no view yet: the request waits");
	await(&a[0]);
	is_str(a[0].err, "", "and is answered once the view is made");
	cluster_copy_view(cluster, &v);
	ok(v.n > 0 && v.pods[0].self && strcmp(v.pods[0].name,
	    "visits-0") == 0, "from a view with this pod, by its host name");
	ok(v.n > 0 && v.error[0] == '\0' && v.made_ns == a[0].made_ns,
	    "that name resolved; the request saw that view");
	ok(ask(&a[1]) == 0, "a view less than %d ms old: answered at once",
	    CLUSTER_REFRESH_MS);
	ok(finished(&a[1]) == 0, "without a call on the view's thread");

	/*
	 * Three requests in a row for a stale view: the first waits; the
	 * others wait too, or find the new view made already (the view's
	 * thread may run between them).  All three get that one view.
	 */
	let_it_age();
	for (i = 2; i < 5; i++)
		waits[i] = ask(&a[i]);
	ok(waits[2] == 1, "older than %d ms: the next request waits",
	    CLUSTER_REFRESH_MS);
	for (i = 2; i < 5; i++) {
		if (waits[i]) {
			await(&a[i]);
			continue;
		}
		cluster_copy_view(cluster, &v);
		a[i].made_ns = v.n > 0 ? v.made_ns : 0;
	}
	ok(a[2].made_ns > a[0].made_ns, "for a new view");
	ok(a[2].made_ns == a[3].made_ns && a[3].made_ns == a[4].made_ns &&
	    a[2].err[0] == '\0' && a[3].err[0] == '\0' && a[4].err[0] == '\0',
	    "one view made for all three: one refresh at a time");
	ok(finished(&a[2]) == 1 && finished(&a[3]) == waits[3] &&
	    finished(&a[4]) == waits[4], "each answered once");

	let_it_age();
	ok(ask(&a[5]) == 1, "a request waits when the stop comes");
	cluster_stop(cluster);
	is_int(finished(&a[5]), 1, "it is answered before cluster_stop() "
	    "returns");

	/* A name that does not resolve. */
	cluster = cluster_start("no-such-service.invalid", VISITS_HTTP_PORT,
	    "visits-0", err, sizeof(err));
	if (cluster == NULL)
		return 99;
	ok(ask(&a[6]) == 1, "another name: the first request waits");
	await(&a[6]);
	cluster_copy_view(cluster, &v);
	ok(v.n == 1 && v.pods[0].self, "a name that does not "
	    "resolve: a view of this pod alone");
	has_str(v.n > 0 ? v.error : NULL, "no-such-service.invalid",
	    "which says which name failed");
	cluster_stop(cluster);

	/* No cluster (no peers): this pod alone, as main.c makes it. */
	cluster = NULL;
	is_int(ask(&a[0]), 0, "no cluster: a request never waits");
	v.n = 1;
	cluster_copy_view(cluster, &v);
	is_int(v.n, 0, "and there is no view");
	cluster_stop(cluster);
	return tap_done();
}
