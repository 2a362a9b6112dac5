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
 * libfcgi reads the connection in FCGX_Request.ipcFd when it is open and
 * keepConnection is set.  We set those two fields ourselves, which
 * libfcgi's header calls private; FCGX_Request is allocated by its callers,
 * so its layout is part of libfcgi's ABI, unchanged since 2.4.0.  With
 * listen_sock -1 libfcgi never accepts by itself.  Within a request
 * libfcgi does blocking reads, bounded by the connection's read timeout.
 *
 * A visit is answered later, by the store thread (see handler.c); its
 * connection stays out of the epoll set until then.  Answers are written
 * by record.c, not by libfcgi's streams.
 *
 * Stopping: server_stop() makes the eventfd readable for good.  Every
 * thread stops accepting, serves the requests that are already readable,
 * and returns.  Visits still waiting for the store are answered when the
 * store drains (store_close), and server_free() closes the idle rest.
 */
#include "config.h"

#include <errno.h>
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

#include "handler.h"
#include "log.h"
#include "server.h"

#define THREAD_STACK_SIZE	(256 * 1024)
#define ACCEPT_PAUSE_MS		100
#define ACCEPT_BURST		64

struct conn {
	struct exchange	 x;		/* first: handler.c hands it back */
	struct server	*server;
	int		 fd;
	struct conn	*prev;
	struct conn	*next;
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
};

/* epoll tags for the two descriptors that are not connections. */
static char	listen_tag, wake_tag;

static void	*worker_main(void *);
static void	 accept_ready(struct server *);
static int	 watch(struct server *, int, int, void *);
static void	 conn_ready(struct conn *);
static void	 conn_finished(struct exchange *);
static void	 conn_free(struct conn *);
static void	 set_read_timeout(int, unsigned);
static int	 is_stopping(struct server *);

static int
is_stopping(struct server *s)
{
	return __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE);
}

static int
watch(struct server *s, int op, int fd, void *tag)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
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

/* The listener is ready: take what is waiting, then watch it again. */
static void
accept_ready(struct server *s)
{
	struct conn	*c;
	struct pollfd	 pfd;
	char		 e[128];
	int		 fd, i;

	for (i = 0; i < ACCEPT_BURST && !is_stopping(s); i++) {
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
		c->fd = fd;
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

/* A connection has input: one request, read and answered (or parked). */
static void
conn_ready(struct conn *c)
{
	FCGX_Request	*req = &c->x.request;

	req->ipcFd = c->fd;
	req->keepConnection = 1;	/* FCGX_Accept_r must not close it */
	if (FCGX_Accept_r(req) < 0) {
		/* Closed by the peer, or not FastCGI: libfcgi closed it. */
		c->fd = -1;
		conn_free(c);
		return;
	}
	handle_request(&c->x);
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
	    watch(s, EPOLL_CTL_MOD, c->fd, c) == -1)
		conn_free(c);
}

static void
conn_free(struct conn *c)
{
	struct server	*s = c->server;

	if (c->fd != -1) {
		/* Out of libfcgi's hands: close it ourselves. */
		c->x.request.ipcFd = -1;
		close(c->fd);
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

static void *
worker_main(void *arg)
{
	struct server		*s = arg;
	struct epoll_event	 ev[8];
	int			 n, i, served;

	for (;;) {
		/* One event at a time: a busy thread must not sit on more. */
		n = epoll_wait(s->epoll_fd, ev, 1, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			__atomic_store_n(&s->failed, 1, __ATOMIC_RELEASE);
			kill(getpid(), SIGTERM);
			return NULL;
		}
		if (n == 0)
			continue;
		if (ev[0].data.ptr == &listen_tag)
			accept_ready(s);
		else if (ev[0].data.ptr != &wake_tag)
			conn_ready(ev[0].data.ptr);
		else
			break;
	}
	/*
	 * Stopping: accept no more, but serve the requests that nginx has
	 * already sent (readable now), then return.
	 */
	(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	do {
		served = 0;
		n = epoll_wait(s->epoll_fd, ev, 8, 0);
		for (i = 0; i < n; i++)
			if (ev[i].data.ptr != &wake_tag &&
			    ev[i].data.ptr != &listen_tag) {
				conn_ready(ev[i].data.ptr);
				served++;
			}
	} while (served > 0);
	return NULL;
}

struct server *
server_start(const struct app *app, int listen_fd, unsigned threads,
    unsigned io_timeout, char *errbuf, size_t errlen)
{
	struct server		*s;
	struct epoll_event	 ev;
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
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	flags = fcntl(listen_fd, F_GETFL);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;		/* level-triggered: wakes everyone */
	ev.data.ptr = &wake_tag;
	if (s->wake_fd == -1 || s->epoll_fd == -1 || flags == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->wake_fd, &ev) == -1 ||
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

/* After server_wait() and once the store has answered every visit. */
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
	free(s->threads);
	free(s);
}
