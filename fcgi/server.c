/*
 * server.c: threads that accept FastCGI connections and serve requests.
 *
 * Each thread is one request slot.  It accepts a connection itself (poll +
 * accept4, one thread at a time), hands it to libfcgi, and serves requests
 * on it for as long as nginx keeps it open (fastcgi_keep_conn): libfcgi
 * reads the next request from the connection in FCGX_Request.ipcFd when it
 * is open and keepConnection is set.  We set those two fields ourselves,
 * which libfcgi's header calls private; FCGX_Request is allocated by its
 * callers, so its layout is part of libfcgi's ABI and has not changed since
 * 2.4.0.  In exchange:
 *   - an idle kept connection waits in our poll(), which a stop can wake,
 *     instead of in a read() inside libfcgi that nothing can interrupt;
 *   - every connection gets read and write timeouts before its first byte
 *     is read, so a stalled client cannot hold a slot for ever;
 *   - EMFILE pauses accepting instead of spinning (as slowcgi does).
 *
 * Stopping: server_stop() makes an eventfd readable for good; every thread
 * that waits wakes up.  A request already sent on a kept connection is
 * still served; then each thread closes its connection and returns.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "handler.h"
#include "log.h"
#include "server.h"

#define THREAD_STACK_SIZE	(256 * 1024)
#define ACCEPT_PAUSE_MS		100
/*
 * An idle kept connection is closed after this long.  nginx closes idle
 * upstream connections after 60 s (keepalive_timeout), so normally it goes
 * first; this only frees slots that a client outside nginx leaves idle.
 */
#define IDLE_TIMEOUT_MS		75000

struct worker {
	pthread_t	 thread;
	struct server	*server;
	FCGX_Request	 request;
	char		 body[HANDLER_BODY_SIZE];
};

struct server {
	const struct app	*app;
	int			 listen_fd;
	int			 wake_fd;	/* eventfd: readable = stop */
	unsigned		 io_timeout;
	pthread_mutex_t		 accept_lock;
	unsigned		 nworkers;
	struct worker		*workers;
	int			 failed;
};

enum wait_result {
	WAIT_READY,
	WAIT_STOP,
	WAIT_TIMEOUT
};

static void		*worker_main(void *);
static int		 accept_connection(struct server *);
static enum wait_result	 wait_readable(struct server *, int, int);
static int		 stopping(struct server *);

static void		 set_timeouts(int, unsigned);

static int
stopping(struct server *s)
{
	struct pollfd	pfd = { .fd = s->wake_fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

/* Wait for fd to be readable, for a stop, or for timeout_ms (-1: none). */
static enum wait_result
wait_readable(struct server *s, int fd, int timeout_ms)
{
	struct pollfd	pfd[2];
	int		n;

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = s->wake_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, 2, timeout_ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			return WAIT_TIMEOUT;
		/* Input already sent is served, even while stopping. */
		if (n > 0 && pfd[0].revents != 0)
			return WAIT_READY;
		return WAIT_STOP;
	}
}

static void
set_timeouts(int fd, unsigned seconds)
{
	struct timeval	tv = { .tv_sec = (time_t)seconds, .tv_usec = 0 };

	if (seconds == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A new connection, or -1 when stopping. */
static int
accept_connection(struct server *s)
{
	char	e[128];
	int	fd = -1, logged_emfile = 0;

	pthread_mutex_lock(&s->accept_lock);
	while (fd == -1) {
		if (wait_readable(s, s->listen_fd, -1) != WAIT_READY ||
		    stopping(s))
			break;
		/* The listener is non-blocking; connections are not. */
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1)
			break;
		switch (errno) {
		case EAGAIN:
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			break;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of descriptors: pause, let requests finish. */
			if (!logged_emfile)
				log_warn("accept_paused", "accept: %s: "
				    "pausing", errstr(errno, e, sizeof(e)));
			logged_emfile = 1;
			(void)wait_readable(s, s->wake_fd, ACCEPT_PAUSE_MS);
			break;
		default:
			log_error("accept_failed", "accept: %s",
			    errstr(errno, e, sizeof(e)));
			s->failed = 1;
			pthread_mutex_unlock(&s->accept_lock);
			/* Tell main() to shut down like on SIGTERM. */
			kill(getpid(), SIGTERM);
			return -1;
		}
	}
	pthread_mutex_unlock(&s->accept_lock);
	if (fd != -1)
		set_timeouts(fd, s->io_timeout);	/* libfcgi blocks */
	return fd;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct server	*s = w->server;
	FCGX_Request	*req = &w->request;
	int		 fd;

	for (;;) {
		if (req->ipcFd < 0) {
			if ((fd = accept_connection(s)) == -1)
				break;
			req->ipcFd = fd;
			/* Keep it across FCGX_Accept_r's own Finish. */
			req->keepConnection = 1;
		} else if (wait_readable(s, req->ipcFd, IDLE_TIMEOUT_MS) !=
		    WAIT_READY) {
			/* Idle kept connection: stopping, or idle too long. */
			FCGX_Free(req, 1);
			continue;
		}
		/*
		 * With listen_sock -1, libfcgi cannot accept by itself: after
		 * a bad or closed connection it returns < 0 (and has closed
		 * the connection), and we accept the next one.
		 */
		if (FCGX_Accept_r(req) < 0) {
			FCGX_Free(req, 1);
			continue;
		}
		handle_request(s->app, req, w->body);
		/* Closes the connection unless nginx asked to keep it. */
		FCGX_Finish_r(req);
		if (req->ipcFd >= 0 && stopping(s) &&
		    wait_readable(s, req->ipcFd, 0) != WAIT_READY)
			FCGX_Free(req, 1);
	}
	FCGX_Free(req, 1);
	return NULL;
}

struct server *
server_start(const struct app *app, int listen_fd, unsigned threads,
    unsigned io_timeout, char *errbuf, size_t errlen)
{
	struct server	*s;
	pthread_attr_t	 attr;
	char		 e[128];
	unsigned	 i;
	int		 rc, flags;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->workers = calloc(threads, sizeof(*s->workers))) == NULL) {
		free(s);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	s->app = app;
	s->listen_fd = listen_fd;
	s->io_timeout = io_timeout;
	pthread_mutex_init(&s->accept_lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	flags = fcntl(listen_fd, F_GETFL);
	if (s->wake_fd == -1 || flags == -1 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(errbuf, errlen, "eventfd/fcntl: %s",
		    errstr(errno, e, sizeof(e)));
		goto fail;
	}
	if (FCGX_Init() != 0) {
		snprintf(errbuf, errlen, "FCGX_Init failed");
		goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	for (i = 0; i < threads; i++) {
		struct worker	*w = &s->workers[i];

		w->server = s;
		FCGX_InitRequest(&w->request, -1, 0);
		rc = pthread_create(&w->thread, &attr, worker_main, w);
		if (rc != 0) {
			snprintf(errbuf, errlen, "starting thread %u: %s", i,
			    errstr(rc, e, sizeof(e)));
			pthread_attr_destroy(&attr);
			s->nworkers = i;
			server_stop(s);
			(void)server_wait(s);
			return NULL;
		}
		s->nworkers = i + 1;
	}
	pthread_attr_destroy(&attr);
	return s;

fail:
	if (s->wake_fd != -1)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->accept_lock);
	free(s->workers);
	free(s);
	return NULL;
}

void
server_stop(struct server *s)
{
	uint64_t	one = 1;

	/* Never read back: the eventfd stays readable, waking everyone. */
	(void)write(s->wake_fd, &one, sizeof(one));
}

/* Joins every thread; 0 after a clean stop, -1 if the server failed. */
int
server_wait(struct server *s)
{
	unsigned	i;
	int		failed;

	for (i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i].thread, NULL);
	failed = s->failed;
	close(s->wake_fd);
	pthread_mutex_destroy(&s->accept_lock);
	free(s->workers);
	free(s);
	return failed ? -1 : 0;
}
