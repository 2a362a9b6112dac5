/*
 * cluster.c: the view of every pod's count, refreshed in the background
 * (see cluster.h).
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

#define NS_PER_MS	1000000LL
#define REFRESH_NS	(1000 * NS_PER_MS)	/* at most once a second */
#define ACTIVE_NS	(5000 * NS_PER_MS)	/* after the last /cluster */
#define STOP_WAIT_S	2	/* for a refresh stuck in the resolver */
#define ANSWER_MAX	1024	/* nginx's headers and {"visits":N} fit */
#define STR(x)		#x
#define XSTR(x)		STR(x)
#define LATE		"no answer within " XSTR(CLUSTER_DEADLINE_MS) " ms"

struct cluster {
	char			 service[256];
	char			 port[8];
	char			 hostname[CLUSTER_NAME_LEN];
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	int			 stopping;
	int			 idle;
	long long		 asked_ns;
	struct cluster_view	*view;
};

/* One pod being asked for its /visits. */
struct ask {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	int			 fd;
	int			 sending;
	size_t			 sent;
	size_t			 got;
	char			 in[ANSWER_MAX];
	const char		*error;
	char			 error_storage[CLUSTER_ERROR_LEN];
	struct cluster_pod	*pod;
};

static void	*cluster_main(void *);
static void	 refresh(struct cluster *);
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

	if (errnum != 0) {
		snprintf(k->error_storage, sizeof(k->error_storage),
		    "%.20s: %.70s", what, errstr(errnum, e, sizeof(e)));
		k->error = k->error_storage;
	} else
		k->error = what;
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
		asks[i].fd = socket(asks[i].sa.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		asks[i].sending = 1;
		if (asks[i].fd == -1) {
			ask_fail(&asks[i], "socket", errno);
			continue;
		}
		if (connect(asks[i].fd, (struct sockaddr *)&asks[i].sa,
		    asks[i].salen) == -1 && errno != EINPROGRESS)
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

/* Resolve, ask, publish a new view. */
static void
refresh(struct cluster *c)
{
	static struct ask	 asks[CLUSTER_MAX_PODS];	/* one thread */
	struct cluster_view	*v, *old;
	struct cluster_pod	*p;
	struct addrinfo		 hints, *res = NULL, *ai;
	struct ifaddrs		*ifs = NULL;
	char			 request[512], name[CLUSTER_NAME_LEN], e[128];
	const char		*why;
	unsigned		 i, j, n = 0;
	int			 rc, reqlen;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return;
	v->refs = 1;
	p = &v->pods[v->n++];
	snprintf(p->name, sizeof(p->name), "%s", c->hostname);
	p->self = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(c->service, c->port, &hints, &res);
	if (rc != 0)
		snprintf(v->error, sizeof(v->error), "%.40s: %.50s", c->service,
		    rc == EAI_SYSTEM ? errstr(errno, e, sizeof(e)) :
		    gai_strerror(rc));
	if (rc == 0 && getifaddrs(&ifs) == -1)
		ifs = NULL;
	for (ai = rc == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(asks[0].sa) ||
		    is_local(ifs, ai->ai_addr))
			continue;
		for (j = 0; j < n; j++)
			if (same_addr((struct sockaddr *)&asks[j].sa,
			    ai->ai_addr))
				break;
		if (j < n)
			continue;
		if (n == CLUSTER_MAX_PODS - 1)
			break;
		memset(&asks[n], 0, sizeof(asks[n]));
		memcpy(&asks[n].sa, ai->ai_addr, ai->ai_addrlen);
		asks[n].salen = ai->ai_addrlen;
		asks[n].pod = &v->pods[v->n++];
		getnameinfo(ai->ai_addr, ai->ai_addrlen, asks[n].pod->addr,
		    sizeof(asks[n].pod->addr), NULL, 0, NI_NUMERICHOST);
		n++;
	}
	if (ifs != NULL)
		freeifaddrs(ifs);
	if (res != NULL)
		freeaddrinfo(res);

	reqlen = snprintf(request, sizeof(request),
	    "GET /visits HTTP/1.0\r\nHost: %s\r\nUser-Agent: visits-fcgi\r\n"
	    "Connection: close\r\n\r\n", c->service);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(request))
		reqlen = 0;
	ask_all(asks, n, request, (size_t)reqlen);

	pthread_mutex_lock(&c->lock);
	old = c->view;
	if (old != NULL)
		old->refs++;
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < n; i++) {
		p = asks[i].pod;
		why = asks[i].error;
		name[0] = '\0';
		if (why == NULL)
			why = cluster_parse_answer(asks[i].in, asks[i].got,
			    &p->visits, name, sizeof(name));
		p->ok = why == NULL;
		if (why != NULL)
			snprintf(p->error, sizeof(p->error), "%s", why);
		for (j = 0; name[0] == '\0' && old != NULL && j < old->n; j++)
			if (strcmp(old->pods[j].addr, p->addr) == 0)
				snprintf(name, sizeof(name), "%s",
				    old->pods[j].name);
		snprintf(p->name, sizeof(p->name), "%s",
		    name[0] != '\0' ? name : p->addr);
	}
	if (old != NULL)
		cluster_release(c, old);
	qsort(v->pods, v->n, sizeof(v->pods[0]), pod_cmp);

	pthread_mutex_lock(&c->lock);
	old = c->view;
	c->view = v;
	pthread_mutex_unlock(&c->lock);
	if (old != NULL)
		cluster_release(c, old);
}

/*
 * Refresh at most once a second while someone asked in the last few
 * seconds; otherwise sleep until someone asks (cluster_acquire).
 */
static void *
cluster_main(void *arg)
{
	struct cluster	*c = arg;
	struct timespec	 until;
	long long	 start;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		if (clock_monotonic_ns() - c->asked_ns > ACTIVE_NS) {
			c->idle = 1;
			pthread_cond_wait(&c->wake, &c->lock);
			c->idle = 0;
			continue;
		}
		pthread_mutex_unlock(&c->lock);
		start = clock_monotonic_ns();
		refresh(c);
		start += REFRESH_NS;
		until.tv_sec = start / 1000000000LL;
		until.tv_nsec = start % 1000000000LL;
		pthread_mutex_lock(&c->lock);
		while (!c->stopping && clock_monotonic_ns() < start)
			pthread_cond_timedwait(&c->wake, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * The view for one answer; the caller gives it back with
 * cluster_release().  The lock is held for a pointer and a count only.
 */
const struct cluster_view *
cluster_acquire(struct cluster *c)
{
	struct cluster_view	*v;

	pthread_mutex_lock(&c->lock);
	c->asked_ns = clock_monotonic_ns();
	if (c->idle)
		pthread_cond_signal(&c->wake);
	v = c->view;
	if (v != NULL)
		v->refs++;
	pthread_mutex_unlock(&c->lock);
	return v;
}

void
cluster_release(struct cluster *c, const struct cluster_view *cv)
{
	struct cluster_view	*v = (struct cluster_view *)cv;
	unsigned		 left;

	if (v == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	left = --v->refs;
	pthread_mutex_unlock(&c->lock);
	if (left == 0)
		free(v);
}

/*
 * Starts the thread, which makes a first view at once: the first
 * /cluster is answered from it without waiting.
 */
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
	c->asked_ns = clock_monotonic_ns();
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&c->thread, NULL, cluster_main, c);
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
 * After the last request.  The pods' answers have a deadline, the
 * resolver has its own (resolv.conf's timeouts times the search domains
 * can exceed the pod's grace period): a thread still in getaddrinfo()
 * after a while is left to the process's exit.
 */
void
cluster_stop(struct cluster *c)
{
	struct timespec	until;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	if (pthread_timedjoin_np(c->thread, NULL, &until) != 0) {
		log_warn("cluster_stop_slow", "the view's refresh of %s is "
		    "still resolving after %d s: not waiting for it",
		    c->service, STOP_WAIT_S);
		return;
	}
	cluster_release(c, c->view);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
