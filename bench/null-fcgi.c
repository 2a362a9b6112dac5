/*
 * null-fcgi: the cheapest FastCGI responder this benchmark can put behind
 * nginx, so that bench/run.sh can measure the limit of the path itself
 * (nginx, its FastCGI module, the Unix socket, the kernel) next to
 * visits-fcgi on the same path.
 *
 *   null-fcgi [IGNORED...]
 *
 * It is started the way visits-fcgi is, by fcgi/visits-serve (spawn-fcgi
 * binds the socket with the same mode and backlog and hands it over on
 * fd 0), so visits-fcgi's options are accepted and ignored.  One thread,
 * one epoll set, level-triggered: each ready connection is read once, and
 * every whole request in what was read gets the same answer, written as
 * visits-fcgi writes its answers (record.c, one sendmsg): the headers
 * visits-fcgi sends with GET /visits (same fields, same length) and a body
 * of the same size, so nginx does the same work on the way back.  Connections stay open while nginx keeps them
 * (FCGI_KEEP_CONN), and are never counted, timed out or limited: nginx is
 * the only client.  Nothing is logged per request.  SIGTERM or SIGINT
 * ends it, closing the socket's path as visits-fcgi does.
 *
 * A benchmark tool, built by automake (bench/local.am), never installed.
 */
#include "config.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "record.h"

#define CONN_BUF	4096	/* the benchmark's requests are ~300 bytes */
#define MAX_EVENTS	64
#define HEAD_MAX	512
#define BODY		"{\"visits\":0}\n"

struct conn {
	int		 fd;
	size_t		 len;		/* bytes in buf */
	unsigned char	 buf[CONN_BUF];
};

static void	 on_signal(int);
static void	 build_head(void);
static void	 accept_all(int, int);
static void	 conn_read(int, struct conn *);
static void	 conn_close(int, struct conn *);

static volatile sig_atomic_t	stop;
static char			head[HEAD_MAX];	/* the CGI headers */
static size_t			head_len;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The headers of visits-fcgi's answer to GET /visits (respond.c). */
static void
build_head(void)
{
	char	host[HOST_NAME_MAX + 1];
	int	n;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	n = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Served-By: %s\r\n\r\n", sizeof(BODY) - 1, host);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		fprintf(stderr, "null-fcgi: host name too long\n");
		exit(1);
	}
	head_len = (size_t)n;
}

static void
accept_all(int ep, int lfd)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(1000);	/* nginx retries; so do we */
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			conn_close(ep, c);
	}
}

/*
 * Read what is there; answer every whole request in it (a request ends
 * with its empty STDIN record); keep the rest for the next read.
 */
static void
conn_read(int ep, struct conn *c)
{
	unsigned char	*p, *begin = NULL;
	size_t		 off = 0, rec, start = 0;
	ssize_t		 n;
	int		 keep = 1;

	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(ep, c);
		return;
	}
	c->len += (size_t)n;
	while (c->len - off >= FCGI_HEADER_LEN) {
		p = c->buf + off;
		rec = FCGI_HEADER_LEN + ((size_t)p[4] << 8 | p[5]) + p[6];
		if (p[0] != FCGI_VERSION_1) {
			conn_close(ep, c);
			return;
		}
		if (c->len - off < rec)
			break;
		if (p[1] == FCGI_BEGIN_REQUEST && rec >= FCGI_HEADER_LEN +
		    sizeof(FCGI_BeginRequestBody)) {
			begin = p;
			keep = (p[FCGI_HEADER_LEN + 2] & FCGI_KEEP_CONN) != 0;
		}
		off += rec;
		if (p[1] == FCGI_STDIN && p[4] == 0 && p[5] == 0) {
			if (begin == NULL || record_send_answer(c->fd,
			    begin[2] << 8 | begin[3], head, head_len, BODY,
			    sizeof(BODY) - 1) == -1 || !keep) {
				conn_close(ep, c);
				return;
			}
			begin = NULL;
			start = off;
		}
	}
	/* Drop what was answered; a request that cannot fit is refused. */
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	if (c->len == sizeof(c->buf))
		conn_close(ep, c);
}

static void
conn_close(int ep, struct conn *c)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

int
main(int argc, char **argv)
{
	struct listener		 l;
	struct sigaction	 sa;
	struct epoll_event	 ev, evs[MAX_EVENTS];
	char			 err[256];
	int			 ep, flags, i, n;

	(void)argc;
	(void)argv;
	if (listener_inherit(&l, 0, err, sizeof(err)) == -1) {
		fprintf(stderr, "null-fcgi: %s\n", err);
		return 2;
	}
	build_head();
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: epoll_wait returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("null-fcgi: epoll_create1");
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* the listener */
	if ((flags = fcntl(l.fd, F_GETFL)) == -1 ||
	    fcntl(l.fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, l.fd, &ev) == -1) {
		perror("null-fcgi: listening socket");
		return 1;
	}
	while (!stop) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(ep, l.fd);
			else
				conn_read(ep, evs[i].data.ptr);
		}
	}
	listener_close(&l);
	return 0;
}
