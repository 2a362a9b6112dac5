/*
 * server.c: FastCGI connections, served by one event loop.
 *
 * Connections are not tied to a thread.  Every connection, the listening
 * socket and a stop eventfd sit in one epoll set, and one thread serves
 * whichever is ready, one at a time (taking many per epoll_wait measured
 * no faster: doc/PERFORMANCE.md, "What bounds each figure"): a ready
 * connection (EPOLLONESHOT: out of the set until it is done with) gets
 * one request read by libfcgi and answered.
 * A kept connection (nginx's fastcgi_keep_conn) then goes back into the
 * set, so idle connections cost a file descriptor and a small struct, and
 * nginx may keep as many as it likes: nothing can be starved by them.
 * One thread, because more measured no faster (doc/DESIGN.md, "One event
 * loop").
 *
 * libfcgi reads with blocking reads, so a connection goes to it only once
 * a whole request is there: a peek (MSG_PEEK) and record.c tell.  A
 * connection with part of a request waits on the partial list, off epoll,
 * and is peeked at again every few milliseconds until the rest arrives,
 * the client shuts its side, or --io-timeout runs out.  So the loop never
 * waits for a slow or stalled client.
 *
 * libfcgi reads the connection in FCGX_Request.ipcFd when it is open and
 * keepConnection is set.  We set those two fields ourselves, which
 * libfcgi's header calls private; FCGX_Request is allocated by its callers,
 * so its layout is part of libfcgi's ABI, unchanged since 2.4.0.  With
 * listen_sock -1 libfcgi never accepts by itself.  The read timeout on
 * each connection stays as a backstop.
 *
 * A request that waits for the disk is answered by the store thread, one
 * that waits for a view of the cluster by the view's thread (handler.c);
 * that thread then puts its connection back into the epoll set or closes
 * it (conn_finished): the list of open connections is the one thing that
 * these threads change, under conns_lock.  Answers are written by
 * record.c, not by libfcgi's streams.
 *
 * Stopping: server_stop() makes the eventfd readable.  The loop stops
 * accepting, serves the requests that arrive whole (those partly sent
 * when the stop came included, for up to --io-timeout or 10 s), and
 * returns once nothing is left.  Requests still waiting for a view are
 * answered when the view's thread ends (cluster_stop), visits still
 * waiting for the store when the store drains (store_close), and
 * server_free() closes the idle rest.
 */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
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
	int			 stopping;	/* atomic: all threads read */
	int			 failed;	/* read after the join */
	pthread_t		 thread;
	pthread_mutex_t		 conns_lock;
	struct conn		*conns;		/* every open connection */
	/* The loop's own. */
	struct conn		*partial;	/* waiting for more bytes */
	long long		 next_sweep_ns;
	unsigned char		*peeked;	/* PEEK_MAX bytes */
};

/* epoll tags for the descriptors that are not connections. */
static char	listen_tag, wake_tag;

static void	*loop_main(void *);
static void	 fail(struct server *);
static long long stop_begin(struct server *);
static void	 accept_ready(struct server *, int);
static int	 watch(struct server *, int, int, void *, uint32_t);
static void	 conn_ready(struct conn *);
static void	 conn_serve(struct conn *);
static int	 peer_done(struct conn *);
static void	 sweep(struct server *);
static void	 conn_finished(struct exchange *);
static void	 conn_free(struct conn *);

static int
watch(struct server *s, int op, int fd, void *tag, uint32_t events)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	return epoll_ctl(s->epoll_fd, op, fd, &ev);
}

/* The loop cannot go on: main() is told to stop, and exits 1. */
static void
fail(struct server *s)
{
	s->failed = 1;
	kill(getpid(), SIGTERM);
}

/* The listener is ready: take what is waiting, at most `burst`. */
static void
accept_ready(struct server *s, int burst)
{
	struct conn	*c;
	struct pollfd	 pfd;
	struct timeval	 tv = { .tv_sec = (time_t)s->io_timeout };
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
			fail(s);
			return;
		}
		/* Writes never block (record.c); only libfcgi's reads wait. */
		if (s->io_timeout != 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			    sizeof(tv));
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
		if (watch(s, EPOLL_CTL_ADD, fd, c, EPOLLIN | EPOLLONESHOT) ==
		    -1) {
			conn_free(c);
			break;
		}
	}
}

/*
 * A connection has input (epoll says so, or the sweep asks again): peek
 * at it, and serve it once a whole request is there.  Part of one waits
 * on the partial list, off epoll (it would report the bytes again), until
 * its deadline.
 */
static void
conn_ready(struct conn *c)
{
	struct server		*s = c->server;
	enum record_state	 state = RECORD_INVALID;
	long long		 now;
	ssize_t			 n;

	do
		n = recv(c->x.fd, s->peeked, PEEK_MAX,
		    MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN) {
		/* No bytes after all. */
		(void)watch(s, EPOLL_CTL_MOD, c->x.fd, c,
		    EPOLLIN | EPOLLONESHOT);
		return;
	}
	if (n > 0)
		state = record_request_state(s->peeked, (size_t)n);
	if (state == RECORD_COMPLETE) {
		conn_serve(c);
		return;
	}
	if (state == RECORD_INCOMPLETE && n < PEEK_MAX) {
		now = clock_monotonic_ns();
		if (c->deadline_ns == 0)
			c->deadline_ns = s->io_timeout == 0 ? LLONG_MAX :
			    now + (long long)s->io_timeout * NS_PER_S;
		if (now < c->deadline_ns && !peer_done(c)) {
			c->next_partial = s->partial;
			s->partial = c;
			return;
		}
	}
	conn_free(c);	/* closed, an error, junk, too large or stalled */
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

/* Peek at every partial request again, at most every SWEEP_MS. */
static void
sweep(struct server *s)
{
	struct conn	*c, *next;
	long long	 now = clock_monotonic_ns();

	if (now < s->next_sweep_ns)
		return;
	s->next_sweep_ns = now + SWEEP_MS * NS_PER_MS;
	c = s->partial;
	s->partial = NULL;
	for (; c != NULL; c = next) {
		next = c->next_partial;
		conn_ready(c);
	}
}

/*
 * The answer is written (by the loop, the store thread or the view's):
 * keep the connection for nginx's next request, or close it.
 */
static void
conn_finished(struct exchange *x)
{
	struct conn	*c = (struct conn *)x;
	struct server	*s = c->server;

	if (x->failed || !x->keep ||
	    __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE) ||
	    watch(s, EPOLL_CTL_MOD, c->x.fd, c, EPOLLIN | EPOLLONESHOT) == -1)
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
 * The stop: accept no more, but serve what is queued already (it was
 * sent a request).  From now on connect() gets ECONNREFUSED, not a place
 * in the queue that nobody would serve.  Returns when the loop must end
 * even if requests are still half-way in.
 */
static long long
stop_begin(struct server *s)
{
	(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->wake_fd, NULL);
	(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	(void)shutdown(s->listen_fd, SHUT_RD);
	accept_ready(s, INT_MAX);
	return clock_monotonic_ns() + NS_PER_S *
	    (s->io_timeout != 0 ? s->io_timeout : STOP_WAIT_DEFAULT);
}

static void *
loop_main(void *arg)
{
	struct server		*s = arg;
	struct epoll_event	 ev;
	long long		 deadline = LLONG_MAX;
	int			 n, stopping = 0;

	for (;;) {
		n = epoll_wait(s->epoll_fd, &ev, 1,
		    stopping || s->partial != NULL ? SWEEP_MS : -1);
		if (n == -1 && errno != EINTR) {
			fail(s);
			break;
		}
		if (n == 1 && ev.data.ptr == &wake_tag) {
			stopping = 1;
			deadline = stop_begin(s);
		} else if (n == 1 && ev.data.ptr == &listen_tag) {
			if (!stopping)
				accept_ready(s, ACCEPT_BURST);
		} else if (n == 1)
			conn_ready(ev.data.ptr);
		if (s->partial != NULL)
			sweep(s);
		/*
		 * Stopping: leave once a wait found nothing ready and no
		 * request is half-way in, or when the time is up.
		 */
		if (stopping && ((n == 0 && s->partial == NULL) ||
		    clock_monotonic_ns() > deadline))
			break;
	}
	return NULL;
}

struct server *
server_start(const struct app *app, int listen_fd, unsigned io_timeout,
    char *errbuf, size_t errlen)
{
	struct server		*s;
	pthread_attr_t		 attr;
	char			 e[128];
	int			 rc, flags;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	s->app = app;
	s->listen_fd = listen_fd;
	s->io_timeout = io_timeout;
	pthread_mutex_init(&s->conns_lock, NULL);
	s->peeked = malloc(PEEK_MAX);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	flags = fcntl(listen_fd, F_GETFL);
	if (s->peeked == NULL || s->wake_fd == -1 || s->epoll_fd == -1 ||
	    flags == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    watch(s, EPOLL_CTL_ADD, s->wake_fd, &wake_tag, EPOLLIN) == -1 ||
	    watch(s, EPOLL_CTL_ADD, listen_fd, &listen_tag, EPOLLIN) == -1) {
		snprintf(errbuf, errlen, "epoll/eventfd/malloc: %s",
		    errstr(errno, e, sizeof(e)));
		server_free(s);
		return NULL;
	}
	/*
	 * libfcgi closes a connection it gives up on (not FastCGI, cut off)
	 * by waiting up to 2 s for the peer to close first, which holds the
	 * loop; for a Unix socket there is nothing to wait for.  It reads
	 * this variable in FCGX_Init().  (The store thread never reads the
	 * environment; the cluster view's resolver does, but only once a
	 * request asks for a view, after this.)
	 */
	setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 1);
	if (FCGX_Init() != 0) {
		snprintf(errbuf, errlen, "FCGX_Init failed");
		server_free(s);
		return NULL;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	rc = pthread_create(&s->thread, &attr, loop_main, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(errbuf, errlen, "starting the event loop: %s",
		    errstr(rc, e, sizeof(e)));
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
	(void)write(s->wake_fd, &one, sizeof(one));
}

/* Joins the event loop; 0 after a clean stop, -1 after a failure. */
int
server_wait(struct server *s)
{
	pthread_join(s->thread, NULL);
	return s->failed ? -1 : 0;
}

/*
 * After server_wait(), cluster_stop() and store_close(), which answered
 * the requests still waiting: closes the rest.
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
	free(s->peeked);
	free(s);
}
