/*
 * cluster.c: the view of every pod's count, made when a request needs a
 * new one (see cluster.h).
 *
 * The pods are the addresses that getaddrinfo() gives for the headless
 * Service's name: glibc's resolver applies the pod's resolv.conf search
 * domains, so the short name "visits-headless" works as it does for
 * nslookup, and no DNS packet is parsed here.  A pod's name is the one it
 * answers with (X-Served-By, its host name, which a StatefulSet makes
 * visits-N); a pod that does not answer keeps the name it last answered
 * with, or else is shown by its address.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "cluster.h"
#include "log.h"
#include "store.h"

#define REFRESH_NS	(CLUSTER_REFRESH_MS * NS_PER_MS)
#define LOOKUP_WAIT_NS	(CLUSTER_LOOKUP_WAIT_MS * NS_PER_MS)
#define ANSWER_MAX	1024	/* nginx's headers and {"visits":N} fit */
#define STR(x)		#x
#define XSTR(x)		STR(x)
#define LATE		"no answer within " XSTR(CLUSTER_DEADLINE_MS) " ms"
#define LOOKUP_LATE	"still being looked up after " \
			XSTR(CLUSTER_LOOKUP_WAIT_MS) " ms"

enum lookup {
	LOOKUP_IDLE,
	LOOKUP_RUNNING,		/* its thread is in getaddrinfo() */
	LOOKUP_DONE		/* found and lookup_error set; to be joined */
};

struct cluster {
	char			 service[256];
	char			 port[8];
	char			 hostname[CLUSTER_NAME_LEN];
	pthread_t		 view_thread;
	pthread_t		 lookup_thread;	/* one for each lookup */
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* the view's thread */
	/* Under lock. */
	int			 stopping;
	enum lookup		 lookup;
	struct addrinfo		*found;
	char			 lookup_error[CLUSTER_ERROR_LEN];
	struct cluster_waiter	*waiting;	/* the oldest first */
	struct cluster_waiter	**waiting_tail;
	struct cluster_view	 view;
};

/* One pod being asked for its /visits. */
struct ask {
	const struct addrinfo	*ai;
	int			 fd;
	int			 sending;
	size_t			 sent;
	size_t			 got;
	char			 in[ANSWER_MAX];
	struct cluster_pod	*pod;		/* its error: why it failed */
};

static void	*view_main(void *);
static void	*lookup_main(void *);
static void	 refresh(struct cluster *, struct addrinfo *,
		    const char *lookup_error);
static void	 answer_waiting(struct cluster *, long long since_ns,
		    const char *err);
static int	 is_local(const struct ifaddrs *, const struct sockaddr *);
static int	 same_addr(const struct sockaddr *, const struct sockaddr *);
static void	 ask_all(struct ask *, unsigned, const char *request,
		    size_t reqlen);
static void	 ask_fail(struct ask *, const char *what, int errnum);
static void	 ask_step(struct ask *, short revents, const char *request,
		    size_t reqlen);
static int	 pod_cmp(const void *, const void *);
static void	 copy_name(char *, size_t, const char *, size_t);

/* Host names only: what goes into the JSON and the page stays plain. */
static void
copy_name(char *dst, size_t size, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len && i + 1 < size; i++) {
		if (!((src[i] >= 'a' && src[i] <= 'z') ||
		    (src[i] >= 'A' && src[i] <= 'Z') ||
		    (src[i] >= '0' && src[i] <= '9') ||
		    src[i] == '-' || src[i] == '.' || src[i] == '_'))
			break;
		dst[i] = src[i];
	}
	dst[i] = '\0';
}

/*
 * A pod's answer to "GET /visits": status 200, its X-Served-By, and the
 * body {"visits":N}.  NULL when all is well, else what is wrong.
 */
const char *
cluster_parse_answer(const char *a, size_t len, uint64_t *visits,
    char *name, size_t namelen)
{
	const char	*end, *p, *body;
	char		 why[128];
	size_t		 digits = 0;

	name[0] = '\0';
	if (len < 12 || memcmp(a, "HTTP/1.", 7) != 0 || a[8] != ' ')
		return "not an HTTP answer";
	if (memcmp(a + 9, "200", 3) != 0)
		return "answered an HTTP error";
	end = memmem(a, len, "\r\n\r\n", 4);
	if (end == NULL)
		return "incomplete answer";
	body = end + 4;
	for (p = a; p != NULL && p < end; ) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		p++;
		if ((size_t)(end - p) > 12 &&
		    strncasecmp(p, "X-Served-By:", 12) == 0) {
			p += 12;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			copy_name(name, namelen, p, (size_t)(end - p));
		}
	}
	p = memmem(body, len - (size_t)(body - a), "{\"visits\":", 10);
	if (p == NULL)
		return "no count in the answer";
	/* The digits, read as the counter file is (store.c). */
	for (p += 10; p + digits < a + len && p[digits] >= '0' &&
	    p[digits] <= '9'; digits++)
		;
	if (digits == 0 || p + digits >= a + len || p[digits] != '}')
		return "no count in the answer";
	if (store_parse_count(p, digits, visits, why, sizeof(why)) == -1)
		return "count out of range";
	return NULL;
}

static int
same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

/* This pod's own address: its count comes from its store instead. */
static int
is_local(const struct ifaddrs *ifs, const struct sockaddr *sa)
{
	for (; ifs != NULL; ifs = ifs->ifa_next)
		if (ifs->ifa_addr != NULL && same_addr(ifs->ifa_addr, sa))
			return 1;
	return 0;
}

static void
ask_fail(struct ask *k, const char *what, int errnum)
{
	char	e[128];

	if (errnum != 0)
		snprintf(k->pod->error, sizeof(k->pod->error),
		    "%.20s: %.70s", what, errstr(errnum, e, sizeof(e)));
	else
		snprintf(k->pod->error, sizeof(k->pod->error), "%s", what);
	if (k->fd != -1)
		close(k->fd);
	k->fd = -1;
}

/* One poll() event for one pod: connected, sent, or read more. */
static void
ask_step(struct ask *k, short revents, const char *request, size_t reqlen)
{
	ssize_t		n;
	int		soerr = 0;
	socklen_t	len = sizeof(soerr);

	if (k->sending) {
		if (k->sent == 0 && (getsockopt(k->fd, SOL_SOCKET, SO_ERROR,
		    &soerr, &len) == -1 || soerr != 0)) {
			ask_fail(k, "connect", soerr != 0 ? soerr : errno);
			return;
		}
		n = send(k->fd, request + k->sent, reqlen - k->sent,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				ask_fail(k, "send", errno);
			return;
		}
		k->sent += (size_t)n;
		if (k->sent == reqlen)
			k->sending = 0;
		return;
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return;
	n = recv(k->fd, k->in + k->got, sizeof(k->in) - k->got, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			ask_fail(k, "recv", errno);
		return;
	}
	k->got += (size_t)n;
	if (n == 0 || k->got == sizeof(k->in)) {
		/* The whole answer (Connection: close), or all we take. */
		close(k->fd);
		k->fd = -1;
	}
}

/*
 * Ask every pod at once, non-blocking, under one deadline: the refresh
 * takes at most CLUSTER_DEADLINE_MS however many pods do not answer.
 */
static void
ask_all(struct ask *asks, unsigned n, const char *request, size_t reqlen)
{
	struct pollfd	 pfd[CLUSTER_MAX_PODS];
	unsigned	 i, open, map[CLUSTER_MAX_PODS];
	long long	 deadline, left;

	for (i = 0; i < n; i++) {
		asks[i].fd = socket(asks[i].ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		asks[i].sending = 1;
		if (asks[i].fd == -1) {
			ask_fail(&asks[i], "socket", errno);
			continue;
		}
		if (connect(asks[i].fd, asks[i].ai->ai_addr,
		    asks[i].ai->ai_addrlen) == -1 && errno != EINPROGRESS)
			ask_fail(&asks[i], "connect", errno);
	}
	deadline = clock_monotonic_ns() + CLUSTER_DEADLINE_MS * NS_PER_MS;
	for (;;) {
		open = 0;
		for (i = 0; i < n; i++) {
			if (asks[i].fd == -1)
				continue;
			pfd[open].fd = asks[i].fd;
			pfd[open].events = asks[i].sending ? POLLOUT : POLLIN;
			map[open++] = i;
		}
		left = deadline - clock_monotonic_ns();
		if (open == 0 || left <= 0)
			break;
		if (poll(pfd, open, (int)((left + NS_PER_MS - 1) /
		    NS_PER_MS)) == -1 && errno != EINTR)
			break;
		for (i = 0; i < open; i++)
			if (pfd[i].revents != 0)
				ask_step(&asks[map[i]], pfd[i].revents,
				    request, reqlen);
	}
	for (i = 0; i < n; i++)
		if (asks[i].fd != -1)
			ask_fail(&asks[i], LATE, 0);
}

static int
pod_cmp(const void *a, const void *b)
{
	return strverscmp(((const struct cluster_pod *)a)->name,
	    ((const struct cluster_pod *)b)->name);
}

/* Ask the pods that the lookup found, publish the new view; takes `res`. */
static void
refresh(struct cluster *c, struct addrinfo *res, const char *lookup_error)
{
	static struct ask	 asks[CLUSTER_MAX_PODS];	/* one thread */
	static struct cluster_view v;
	struct cluster_view	*old = &c->view;
	struct cluster_pod	*p;
	struct addrinfo		*ai;
	struct ifaddrs		*ifs = NULL;
	char			 request[512], name[CLUSTER_NAME_LEN];
	const char		*why;
	unsigned		 i, j, n = 0;
	int			 reqlen;

	memset(&v, 0, sizeof(v));
	v.made_ns = clock_monotonic_ns();
	snprintf(v.error, sizeof(v.error), "%s", lookup_error);
	p = &v.pods[v.n++];
	snprintf(p->name, sizeof(p->name), "%s", c->hostname);
	p->self = 1;

	if (res != NULL && getifaddrs(&ifs) == -1)
		ifs = NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (is_local(ifs, ai->ai_addr))
			continue;
		for (j = 0; j < n; j++)
			if (same_addr(asks[j].ai->ai_addr, ai->ai_addr))
				break;
		if (j < n)
			continue;
		if (n == CLUSTER_MAX_PODS - 1)
			break;
		memset(&asks[n], 0, sizeof(asks[n]));
		asks[n].ai = ai;
		asks[n].pod = &v.pods[v.n++];
		getnameinfo(ai->ai_addr, ai->ai_addrlen, asks[n].pod->addr,
		    sizeof(asks[n].pod->addr), NULL, 0, NI_NUMERICHOST);
		n++;
	}
	if (ifs != NULL)
		freeifaddrs(ifs);

	reqlen = snprintf(request, sizeof(request),
	    "GET /visits HTTP/1.0\r\nHost: %s\r\nUser-Agent: visits-fcgi\r\n"
	    "Connection: close\r\n\r\n", c->service);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(request))
		reqlen = 0;
	ask_all(asks, n, request, (size_t)reqlen);
	if (res != NULL)
		freeaddrinfo(res);

	/* Only this thread publishes: `old` stays current without the lock. */
	for (i = 0; i < n; i++) {
		p = asks[i].pod;
		name[0] = '\0';
		if (p->error[0] == '\0') {
			why = cluster_parse_answer(asks[i].in, asks[i].got,
			    &p->visits, name, sizeof(name));
			if (why != NULL)
				snprintf(p->error, sizeof(p->error), "%s",
				    why);
		}
		p->ok = p->error[0] == '\0';
		for (j = 0; name[0] == '\0' && j < old->n; j++)
			if (strcmp(old->pods[j].addr, p->addr) == 0)
				snprintf(name, sizeof(name), "%s",
				    old->pods[j].name);
		snprintf(p->name, sizeof(p->name), "%s",
		    name[0] != '\0' ? name : p->addr);
	}
	qsort(v.pods, v.n, sizeof(v.pods[0]), pod_cmp);

	pthread_mutex_lock(&c->lock);
	c->view = v;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Under the lock, which it lets go of meanwhile (the answers take it):
 * answer the requests that have waited since `since_ns` or before, from
 * the current view; err says why that view is not a new one.
 */
static void
answer_waiting(struct cluster *c, long long since_ns, const char *err)
{
	struct cluster_waiter	*done = NULL, **tail = &done, *w, *next;

	while ((w = c->waiting) != NULL && w->since_ns <= since_ns) {
		c->waiting = w->next;
		*tail = w;
		tail = &w->next;
	}
	*tail = NULL;
	if (c->waiting == NULL)
		c->waiting_tail = &c->waiting;
	if (done == NULL)
		return;
	pthread_mutex_unlock(&c->lock);
	for (w = done; w != NULL; w = next) {
		next = w->next;		/* done() may free w */
		w->done(w, err);
	}
	pthread_mutex_lock(&c->lock);
}

/*
 * The view's thread.  A request waits: start a lookup.  The lookup is
 * done: ask the pods, publish, answer everyone.  A request has given the
 * lookup CLUSTER_LOOKUP_WAIT_MS: answer it from the last view.  Stopping:
 * answer everyone from the last view.
 */
static void *
view_main(void *arg)
{
	struct cluster	*c = arg;
	struct addrinfo	*found;
	struct timespec	 until;
	char		 error[CLUSTER_ERROR_LEN], late[CLUSTER_ERROR_LEN];
	char		 e[128];
	long long	 now, due;
	int		 rc;

	snprintf(late, sizeof(late), "%.40s: %s", c->service, LOOKUP_LATE);
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		if (c->lookup == LOOKUP_DONE) {
			/* Its thread let go of the lock for the last time. */
			pthread_join(c->lookup_thread, NULL);
			found = c->found;
			c->found = NULL;
			snprintf(error, sizeof(error), "%s", c->lookup_error);
			c->lookup = LOOKUP_IDLE;
			pthread_mutex_unlock(&c->lock);
			refresh(c, found, error);
			pthread_mutex_lock(&c->lock);
			answer_waiting(c, LLONG_MAX, NULL);
			continue;
		}
		if (c->waiting == NULL) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		if (c->lookup == LOOKUP_IDLE) {
			rc = pthread_create(&c->lookup_thread, NULL,
			    lookup_main, c);
			if (rc != 0) {
				snprintf(error, sizeof(error), "no thread for "
				    "the lookup: %s", errstr(rc, e, sizeof(e)));
				answer_waiting(c, LLONG_MAX, error);
				continue;
			}
			c->lookup = LOOKUP_RUNNING;
		}
		now = clock_monotonic_ns();
		due = c->waiting->since_ns + LOOKUP_WAIT_NS;
		if (now >= due) {
			answer_waiting(c, now - LOOKUP_WAIT_NS, late);
			continue;
		}
		until.tv_sec = due / NS_PER_S;
		until.tv_nsec = due % NS_PER_S;
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
	}
	answer_waiting(c, LLONG_MAX, "stopping");
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* A lookup's thread, started by the view's for one getaddrinfo(). */
static void *
lookup_main(void *arg)
{
	struct cluster	*c = arg;
	struct addrinfo	 hints, *res = NULL;
	char		 error[CLUSTER_ERROR_LEN] = "", e[128];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(c->service, c->port, &hints, &res);
	if (rc != 0)
		snprintf(error, sizeof(error), "%.40s: %.50s", c->service,
		    rc == EAI_SYSTEM ? errstr(errno, e, sizeof(e)) :
		    gai_strerror(rc));
	pthread_mutex_lock(&c->lock);
	c->found = rc == 0 ? res : NULL;
	snprintf(c->lookup_error, sizeof(c->lookup_error), "%s", error);
	c->lookup = LOOKUP_DONE;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * 0 when the current view is fresh, or there is no cluster (NULL: this
 * pod alone): answer from it now.  Else 1: the request waits, and its
 * done() is called on the view's thread (cluster.h).  Never waits itself.
 */
int
cluster_ask(struct cluster *c, struct cluster_waiter *w)
{
	int	wait;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	w->since_ns = clock_monotonic_ns();
	wait = !c->stopping && (c->view.n == 0 ||
	    w->since_ns - c->view.made_ns >= REFRESH_NS);
	if (wait) {
		w->next = NULL;
		*c->waiting_tail = w;
		c->waiting_tail = &w->next;
		/* The first to wait wakes the thread; the others join it. */
		if (c->waiting == w)
			pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	return wait;
}

/* The current view, for one answer: a few KiB copied under the lock. */
void
cluster_copy_view(struct cluster *c, struct cluster_view *v)
{
	if (c == NULL) {
		v->n = 0;	/* no cluster: no view */
		return;
	}
	pthread_mutex_lock(&c->lock);
	*v = c->view;
	pthread_mutex_unlock(&c->lock);
}

/* The view's thread; no lookup, no pod asked until a request waits. */
struct cluster *
cluster_start(const char *service, unsigned port, const char *hostname,
    char *errbuf, size_t errlen)
{
	struct cluster		*c;
	pthread_condattr_t	 ca;
	char			 e[128];
	int			 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(errbuf, errlen, "cluster view: out of memory");
		return NULL;
	}
	snprintf(c->service, sizeof(c->service), "%s", service);
	snprintf(c->port, sizeof(c->port), "%u", port);
	snprintf(c->hostname, sizeof(c->hostname), "%s", hostname);
	c->waiting_tail = &c->waiting;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&c->view_thread, NULL, view_main, c);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cluster view: pthread_create: %s",
		    errstr(rc, e, sizeof(e)));
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

/*
 * After the event loop: the view's thread answers the requests still
 * waiting and ends (within the pods' deadline, if it was asking them).
 * A lookup still in the resolver (resolv.conf's timeouts times the
 * search domains can exceed the pod's grace period) is left to the
 * process's exit, with what it uses.
 */
void
cluster_stop(struct cluster *c)
{
	enum lookup	lookup;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;	/* from now on no lookup starts */
	pthread_cond_signal(&c->wake);
	lookup = c->lookup;
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->view_thread, NULL);
	if (lookup == LOOKUP_RUNNING) {
		log_warn("cluster_stop_slow", "the lookup of %s is still "
		    "running: not waiting for it", c->service);
		return;
	}
	if (lookup == LOOKUP_DONE)
		pthread_join(c->lookup_thread, NULL);
	if (c->found != NULL)
		freeaddrinfo(c->found);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
