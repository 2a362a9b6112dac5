/*
 * server.c: FastCGI connections, epoll and the request threads.
 *
 * Connections are not tied to threads.  Every connection, the listening
 * socket and a stop eventfd sit in one epoll set; request threads wait in
 * epoll_wait() and each ready connection (EPOLLONESHOT) goes to exactly one
 * thread, which lets libfcgi read one request and answers it.  A kept
 * connection (nginx's fastcgi_keep_conn) then goes back into the set, so
 * idle connections cost a file descriptor and a small struct, not a thread,
 * and nginx may keep as many as it likes: nothing can be starved by them.
 *
 * libfcgi reads with blocking reads, so a connection goes to it only once
 * a whole request is there: a peek (MSG_PEEK) and record.c tell.  A
 * connection with part of a request waits on the partial list, off epoll,
 * and is peeked at again every few milliseconds by whichever thread is
 * free, until the rest arrives, the client shuts its side, or
 * --io-timeout runs out.  So no request
 * thread ever waits for a slow or stalled client.
 *
 * libfcgi reads the connection in FCGX_Request.ipcFd when it is open and
 * keepConnection is set.  We set those two fields ourselves, which
 * libfcgi's header calls private; FCGX_Request is allocated by its callers,
 * so its layout is part of libfcgi's ABI, unchanged since 2.4.0.  With
 * listen_sock -1 libfcgi never accepts by itself.  The read timeout on
 * each connection stays as a backstop.
 *
 * A visit is answered later, by the store thread (see handler.c), which
 * then puts its connection back into the epoll set (conn_finished); until
 * then the connection stays out of it.  Answers are written by record.c,
 * not by libfcgi's streams.
 *
 * Stopping: server_stop() makes the eventfd readable for good.  Every
 * thread stops accepting, serves the requests that arrive whole (those
 * partly sent when the stop came included, for up to --io-timeout or
 * 10 s), and returns once nothing is left.  Visits still waiting for the
 * store are answered when the store drains (store_close), and
 * server_free() closes the idle rest.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "handler.h"
#include "log.h"
#include "record.h"
#include "server.h"

#define THREAD_STACK_SIZE	(256 * 1024)
#define ACCEPT_PAUSE_MS		100
#define ACCEPT_BURST		64
#define PEEK_MAX		65536	/* a larger request is refused */
#define SWEEP_MS		10	/* how often partial requests are peeked */
#define STOP_WAIT_DEFAULT	10	/* seconds, with --io-timeout 0 */

struct conn {
	struct exchange	 x;		/* first: handler.c hands it back */
	struct server	*server;
	struct conn	*prev;		/* every connection */
	struct conn	*next;
	struct conn	*next_partial;	/* on the partial list */
	long long	 deadline_ns;	/* for the rest of a partial request */
};

struct server {
	const struct app	*app;
	int			 listen_fd;
	int			 epoll_fd;
	int			 wake_fd;	/* eventfd: readable = stop */
	unsigned		 io_timeout;
	int			 stopping;	/* atomic */
	int			 failed;	/* atomic */
	unsigned		 nthreads;
	pthread_t		*threads;
	pthread_mutex_t		 conns_lock;
	struct conn		*conns;		/* every open connection */
	pthread_mutex_t		 partial_lock;
	struct conn		*partial;	/* waiting for more bytes */
	unsigned		 npartial;	/* atomic */
	pthread_mutex_t		 sweep_lock;
	long long		 next_sweep_ns;	/* under sweep_lock */
	unsigned		 stop_seen;	/* atomic: threads that saw it */
	long long		 stop_deadline_ns; /* atomic */
};

/* What a peek at a connection found. */
enum arrival {
	ARRIVAL_NOTHING,	/* no bytes after all */
	ARRIVAL_PARTIAL,	/* part of a request: wait for the rest */
	ARRIVAL_WHOLE,		/* a whole request: serve it */
	ARRIVAL_BAD		/* closed, an error, junk, or too large */
};

/* epoll tags for the descriptors that are not connections. */
static char	listen_tag, wake_tag;

static void	*worker_main(void *);
static void	 accept_ready(struct server *, int);
static int	 watch(struct server *, int, int, void *);
static int	 watch_events(struct server *, int, int, void *, uint32_t);
static ssize_t	 peek(struct conn *, unsigned char *);
static enum arrival arrived(struct conn *, unsigned char *);
static void	 conn_ready(struct conn *, unsigned char *);
static void	 conn_serve(struct conn *);
static void	 partial_add(struct conn *, long long);
static void	 partial_push(struct server *, struct conn *);
static int	 peer_done(struct conn *);
static void	 sweep(struct server *, unsigned char *);
static void	 saw_stop(struct server *);
static void	 conn_finished(struct exchange *);
static void	 conn_free(struct conn *);
static void	 set_read_timeout(int, unsigned);
static int	 is_stopping(struct server *);

static int
is_stopping(struct server *s)
{
	return __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE);
}

/*
 * One-shot: the listener and each connection go to one thread at a time,
 * and are watched again when it is done with them.
 */
static int
watch(struct server *s, int op, int fd, void *tag)
{
	return watch_events(s, op, fd, tag, EPOLLIN | EPOLLONESHOT);
}

static int
watch_events(struct server *s, int op, int fd, void *tag, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	return epoll_ctl(s->epoll_fd, op, fd, &ev);
}

static void
set_read_timeout(int fd, unsigned seconds)
{
	struct timeval	tv = { .tv_sec = (time_t)seconds, .tv_usec = 0 };

	/* Writes never block (record.c); only libfcgi's reads need it. */
	if (seconds == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * The listener is ready: take what is waiting (at most `burst`), then
 * watch it again unless stopping.
 */
static void
accept_ready(struct server *s, int burst)
{
	struct conn	*c;
	struct pollfd	 pfd;
	char		 e[128];
	int		 fd, i;

	for (i = 0; i < burst; i++) {
		/* Non-blocking listener; blocking connections (libfcgi). */
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED || errno == EPROTO)
				break;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pause, like slowcgi. */
				log_warn("accept_paused", "accept: %s: pausing "
				    "%d ms", errstr(errno, e, sizeof(e)),
				    ACCEPT_PAUSE_MS);
				pfd.fd = s->wake_fd;
				pfd.events = POLLIN;
				(void)poll(&pfd, 1, ACCEPT_PAUSE_MS);
				break;
			}
			log_error("accept_failed", "accept: %s",
			    errstr(errno, e, sizeof(e)));
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
			kill(getpid(), SIGTERM);	/* main() stops us */
			return;
		}
		set_read_timeout(fd, s->io_timeout);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			break;
		}
		c->server = s;
		c->x.fd = fd;
		c->x.app = s->app;
		c->x.finished = conn_finished;
		FCGX_InitRequest(&c->x.request, -1, 0);
		pthread_mutex_lock(&s->conns_lock);
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->conns_lock);
		if (watch(s, EPOLL_CTL_ADD, fd, c) == -1) {
			conn_free(c);
			break;
		}
	}
	if (!is_stopping(s))
		(void)watch(s, EPOLL_CTL_MOD, s->listen_fd, &listen_tag);
}

/* What has arrived on the connection, left in place: > 0, 0 at EOF. */
static ssize_t
peek(struct conn *c, unsigned char *buf)
{
	ssize_t	n;

	do
		n = recv(c->x.fd, buf, PEEK_MAX, MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return n;
}

static enum arrival
arrived(struct conn *c, unsigned char *buf)
{
	ssize_t	n = peek(c, buf);

	if (n == -1 && errno == EAGAIN)
		return ARRIVAL_NOTHING;
	if (n <= 0)
		return ARRIVAL_BAD;
	switch (record_request_state(buf, (size_t)n)) {
	case RECORD_COMPLETE:
		return ARRIVAL_WHOLE;
	case RECORD_INCOMPLETE:
		return n < PEEK_MAX ? ARRIVAL_PARTIAL : ARRIVAL_BAD;
	case RECORD_INVALID:
		break;
	}
	return ARRIVAL_BAD;
}

/* A connection has input: serve it once a whole request is there. */
static void
conn_ready(struct conn *c, unsigned char *buf)
{
	switch (arrived(c, buf)) {
	case ARRIVAL_NOTHING:
		(void)watch(c->server, EPOLL_CTL_MOD, c->x.fd, c);
		break;
	case ARRIVAL_PARTIAL:
		partial_add(c, clock_monotonic_ns());
		break;
	case ARRIVAL_WHOLE:
		conn_serve(c);
		break;
	case ARRIVAL_BAD:
		conn_free(c);
		break;
	}
}

/* A whole request is there: libfcgi reads it without blocking. */
static void
conn_serve(struct conn *c)
{
	FCGX_Request	*req = &c->x.request;

	c->deadline_ns = 0;
	req->ipcFd = c->x.fd;
	req->keepConnection = 1;	/* FCGX_Accept_r must not close it */
	if (FCGX_Accept_r(req) < 0) {
		/* Not a request libfcgi takes: it closed the connection. */
		c->x.fd = -1;
		conn_free(c);
		return;
	}
	handle_request(&c->x);
}

/* The peer shut its side: the rest of a partial request never comes. */
static int
peer_done(struct conn *c)
{
	struct pollfd	pfd = { .fd = c->x.fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Part of a request: wait off epoll (it would report the bytes again). */
static void
partial_add(struct conn *c, long long now)
{
	struct server	*s = c->server;

	if (c->deadline_ns == 0)
		c->deadline_ns = s->io_timeout == 0 ? LLONG_MAX :
		    now + (long long)s->io_timeout * 1000000000LL;
	__atomic_fetch_add(&s->npartial, 1, __ATOMIC_ACQ_REL);
	partial_push(s, c);
}

static void
partial_push(struct server *s, struct conn *c)
{
	pthread_mutex_lock(&s->partial_lock);
	c->next_partial = s->partial;
	s->partial = c;
	pthread_mutex_unlock(&s->partial_lock);
}

/*
 * Peek at every partial request (at most every SWEEP_MS, one thread at a
 * time): serve the ones that are whole now, drop the closed, stalled and
 * oversized ones, keep the rest.
 */
static void
sweep(struct server *s, unsigned char *buf)
{
	struct conn	*c, *next;
	enum arrival	 state;
	long long	 now;

	if (pthread_mutex_trylock(&s->sweep_lock) != 0)
		return;
	now = clock_monotonic_ns();
	if (now < s->next_sweep_ns) {
		pthread_mutex_unlock(&s->sweep_lock);
		return;
	}
	s->next_sweep_ns = now + SWEEP_MS * 1000000LL;
	pthread_mutex_lock(&s->partial_lock);
	c = s->partial;
	s->partial = NULL;
	pthread_mutex_unlock(&s->partial_lock);
	pthread_mutex_unlock(&s->sweep_lock);

	for (; c != NULL; c = next) {
		next = c->next_partial;
		state = arrived(c, buf);
		if (state == ARRIVAL_PARTIAL && now < c->deadline_ns &&
		    !peer_done(c)) {
			partial_push(s, c);
			continue;
		}
		if (state == ARRIVAL_WHOLE)
			conn_serve(c);
		else
			conn_free(c);	/* closed, stalled, too large, junk */
		/* Only now: a stopping thread waits for this to reach 0. */
		__atomic_fetch_sub(&s->npartial, 1, __ATOMIC_ACQ_REL);
	}
}

/*
 * The answer is written (on a request thread or the store thread): keep
 * the connection for nginx's next request, or close it.
 */
static void
conn_finished(struct exchange *x)
{
	struct conn	*c = (struct conn *)x;
	struct server	*s = c->server;

	if (x->failed || !x->keep || is_stopping(s) ||
	    watch(s, EPOLL_CTL_MOD, c->x.fd, c) == -1)
		conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct server	*s = c->server;

	if (c->x.fd != -1) {
		/* Out of libfcgi's hands: close it ourselves. */
		c->x.request.ipcFd = -1;
		close(c->x.fd);
	}
	FCGX_Free(&c->x.request, 0);
	pthread_mutex_lock(&s->conns_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->conns_lock);
	free(c);
}

/*
 * The first sight of the stop in each thread.  The first stops accepting;
 * the last takes the eventfd out of the set, which until then keeps
 * reporting the stop to whoever has not seen it yet.
 */
static void
saw_stop(struct server *s)
{
	unsigned	seen;
	long long	deadline = clock_monotonic_ns() + 1000000000LL *
			    (s->io_timeout != 0 ? s->io_timeout :
			    STOP_WAIT_DEFAULT);

	seen = __atomic_add_fetch(&s->stop_seen, 1, __ATOMIC_ACQ_REL);
	if (seen == 1) {
		__atomic_store_n(&s->stop_deadline_ns, deadline,
		    __ATOMIC_RELEASE);
		(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
		/*
		 * From now on connect() gets ECONNREFUSED, not a place in the
		 * queue that nobody would serve.  What is queued already was
		 * sent a request: take it and serve it.
		 */
		(void)shutdown(s->listen_fd, SHUT_RD);
		accept_ready(s, INT_MAX);
	}
	if (seen == s->nthreads)
		(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->wake_fd, NULL);
}

static void *
worker_main(void *arg)
{
	struct server		*s = arg;
	struct epoll_event	 ev;
	unsigned char		*buf;
	int			 n, stopping = 0, timeout;

	if ((buf = malloc(PEEK_MAX)) == NULL) {
		__atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
		kill(getpid(), SIGTERM);
		return NULL;
	}
	for (;;) {
		timeout = stopping ||
		    __atomic_load_n(&s->npartial, __ATOMIC_ACQUIRE) > 0 ?
		    SWEEP_MS : -1;
		/* One event at a time: a busy thread must not sit on more. */
		n = epoll_wait(s->epoll_fd, &ev, 1, timeout);
		if (n == -1 && errno != EINTR) {
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
			kill(getpid(), SIGTERM);
			break;
		}
		if (n == 1) {
			if (ev.data.ptr == &wake_tag) {
				if (!stopping)
					saw_stop(s);
				stopping = 1;
			} else if (ev.data.ptr == &listen_tag) {
				if (!is_stopping(s))
					accept_ready(s, ACCEPT_BURST);
			} else
				conn_ready(ev.data.ptr, buf);
		}
		if (__atomic_load_n(&s->npartial, __ATOMIC_ACQUIRE) > 0)
			sweep(s, buf);
		/*
		 * Stopping: leave once a wait found nothing ready (the stop
		 * itself is out of the set when every thread saw it) and no
		 * request is half-way in, or when the time is up.
		 */
		if (stopping && ((n == 0 &&
		    __atomic_load_n(&s->npartial, __ATOMIC_ACQUIRE) == 0) ||
		    clock_monotonic_ns() > __atomic_load_n(&s->stop_deadline_ns,
		    __ATOMIC_ACQUIRE)))
			break;
	}
	free(buf);
	return NULL;
}

struct server *
server_start(const struct app *app, int listen_fd, unsigned threads,
    unsigned io_timeout, char *errbuf, size_t errlen)
{
	struct server		*s;
	pthread_attr_t		 attr;
	char			 e[128];
	unsigned		 i;
	int			 rc, flags;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->threads = calloc(threads, sizeof(*s->threads))) == NULL) {
		free(s);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	s->app = app;
	s->listen_fd = listen_fd;
	s->io_timeout = io_timeout;
	pthread_mutex_init(&s->conns_lock, NULL);
	pthread_mutex_init(&s->partial_lock, NULL);
	pthread_mutex_init(&s->sweep_lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	flags = fcntl(listen_fd, F_GETFL);
	/* Level-triggered, not one-shot: the stop wakes every thread. */
	if (s->wake_fd == -1 || s->epoll_fd == -1 || flags == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    watch_events(s, EPOLL_CTL_ADD, s->wake_fd, &wake_tag,
	    EPOLLIN) == -1 ||
	    watch(s, EPOLL_CTL_ADD, listen_fd, &listen_tag) == -1) {
		snprintf(errbuf, errlen, "epoll/eventfd: %s",
		    errstr(errno, e, sizeof(e)));
		server_free(s);
		return NULL;
	}
	/*
	 * libfcgi closes a connection it gives up on (not FastCGI, cut off)
	 * by waiting up to 2 s for the peer to close first, which holds a
	 * request thread; for a Unix socket there is nothing to wait for.
	 * It reads this variable in FCGX_Init().  (The store thread, the only
	 * other one yet, never reads the environment.)
	 */
	setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 1);
	if (FCGX_Init() != 0) {
		snprintf(errbuf, errlen, "FCGX_Init failed");
		server_free(s);
		return NULL;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	for (i = 0; i < threads; i++) {
		rc = pthread_create(&s->threads[i], &attr, worker_main, s);
		if (rc != 0) {
			snprintf(errbuf, errlen, "starting thread %u: %s", i,
			    errstr(rc, e, sizeof(e)));
			break;
		}
		s->nthreads = i + 1;
	}
	pthread_attr_destroy(&attr);
	if (s->nthreads < threads) {
		server_stop(s);
		(void)server_wait(s);
		server_free(s);
		return NULL;
	}
	return s;
}

void
server_stop(struct server *s)
{
	uint64_t	one = 1;

	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	/* Never read back: the eventfd stays readable, waking everyone. */
	(void)write(s->wake_fd, &one, sizeof(one));
}

/* Joins the request threads; 0 after a clean stop, -1 after a failure. */
int
server_wait(struct server *s)
{
	unsigned	i;

	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	s->nthreads = 0;
	return __atomic_load_n(&s->failed, __ATOMIC_ACQUIRE) ? -1 : 0;
}

/*
 * After server_wait() and store_close(), which answered the visits still
 * waiting: closes the rest.
 */
void
server_free(struct server *s)
{
	while (s->conns != NULL)
		conn_free(s->conns);
	if (s->epoll_fd > 0)
		close(s->epoll_fd);
	if (s->wake_fd > 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->conns_lock);
	pthread_mutex_destroy(&s->partial_lock);
	pthread_mutex_destroy(&s->sweep_lock);
	free(s->threads);
	free(s);
}
