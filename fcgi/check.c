/*
 * check.c: visits-fcgi --check SOCKET, the program's own liveness check.
 *
 * Asks the program serving SOCKET for /healthz over FastCGI, the way nginx
 * would, and succeeds only on a complete 200 answer within CHECK_TIMEOUT_MS.
 * The liveness probe of the pod runs it inside the program's container, so
 * that a broken nginx never restarts a healthy program, and the image needs
 * no HTTP client.  Everything is non-blocking under one deadline: a stopped
 * or hung program (its socket still accepting into the backlog) fails in
 * time instead of hanging the probe.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_RESPONDER		1
#define CHECK_REQUEST_ID	1
#define CHECK_HEAD_SIZE		512	/* the status line is the first */

static long	ms_left(const struct timespec *);
static int	wait_fd(int, short, const struct timespec *);
static size_t	put_record(unsigned char *, int, const void *, size_t);
static size_t	put_pair(unsigned char *, const char *, const char *);
static int	transfer(int, unsigned char *, size_t, short,
		    const struct timespec *);

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* 0: fd is ready for `events`; -1: errno (ETIMEDOUT at the deadline). */
static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd	pfd;
	long		left;
	int		n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		left = ms_left(deadline);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* One record of `len` (< 256) content bytes at `p`; returns its size. */
static size_t
put_record(unsigned char *p, int type, const void *content, size_t len)
{
	p[0] = FCGI_VERSION_1;
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = CHECK_REQUEST_ID;
	p[4] = (unsigned char)(len >> 8);
	p[5] = (unsigned char)len;
	p[6] = 0;
	p[7] = 0;
	if (len > 0)
		memcpy(p + 8, content, len);
	return 8 + len;
}

/* A name-value pair with short (< 128 byte) name and value. */
static size_t
put_pair(unsigned char *p, const char *name, const char *value)
{
	size_t	nlen = strlen(name), vlen = strlen(value);

	p[0] = (unsigned char)nlen;
	p[1] = (unsigned char)vlen;
	memcpy(p + 2, name, nlen);
	memcpy(p + 2 + nlen, value, vlen);
	return 2 + nlen + vlen;
}

/*
 * All `len` bytes sent (events POLLOUT) or received (POLLIN) before the
 * deadline; -1 with errno 0 if the program closed the connection first.
 */
static int
transfer(int fd, unsigned char *p, size_t len, short events,
    const struct timespec *deadline)
{
	ssize_t	n;

	while (len > 0) {
		if (wait_fd(fd, events, deadline) == -1)
			return -1;
		if (events == POLLOUT)
			n = send(fd, p, len, MSG_NOSIGNAL);
		else
			n = recv(fd, p, len, 0);
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
check_socket(const char *path, char *errbuf, size_t errlen)
{
	static const unsigned char begin[8] = { 0, FCGI_RESPONDER, 0 };
	struct sockaddr_un	 sun;
	struct timespec		 deadline;
	unsigned char		 req[512], params[256], hdr[8];
	unsigned char		 content[65535 + 255];	/* the largest record */
	char			 head[CHECK_HEAD_SIZE], ebuf[128];
	const char		*what;
	size_t			 len = 0, plen = 0, hlen = 0, clen, n;
	int			 fd, ended = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "%s: the path is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	plen += put_pair(params + plen, "REQUEST_METHOD", "GET");
	plen += put_pair(params + plen, "REQUEST_URI", "/healthz");
	plen += put_pair(params + plen, "DOCUMENT_URI", "/healthz");
	plen += put_pair(params + plen, "SERVER_PROTOCOL", "HTTP/1.1");
	len += put_record(req + len, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	len += put_record(req + len, FCGI_PARAMS, params, plen);
	len += put_record(req + len, FCGI_PARAMS, NULL, 0);
	len += put_record(req + len, FCGI_STDIN, NULL, 0);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += CHECK_TIMEOUT_MS / 1000;
	deadline.tv_nsec += (CHECK_TIMEOUT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		what = "socket";
		goto fail;
	}
	/*
	 * A Unix connect() does not wait: it succeeds as long as the
	 * listener's backlog has room (whether or not anyone accepts), and
	 * fails at once on a stale socket or a full backlog.
	 */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		what = "connect";
		goto fail;
	}
	if (transfer(fd, req, len, POLLOUT, &deadline) == -1) {
		what = "send";
		goto fail;
	}
	while (!ended) {
		if (transfer(fd, hdr, sizeof(hdr), POLLIN, &deadline) == -1) {
			what = "no answer";
			goto fail;
		}
		clen = ((size_t)hdr[4] << 8 | hdr[5]) + hdr[6];
		if (transfer(fd, content, clen, POLLIN, &deadline) == -1) {
			what = "no answer";
			goto fail;
		}
		clen -= hdr[6];
		if (hdr[1] == FCGI_STDOUT && hlen < sizeof(head) - 1) {
			n = clen < sizeof(head) - 1 - hlen ?
			    clen : sizeof(head) - 1 - hlen;
			memcpy(head + hlen, content, n);
			hlen += n;
		} else if (hdr[1] == FCGI_END_REQUEST)
			ended = 1;
	}
	close(fd);
	head[hlen] = '\0';
	if (strncmp(head, "Status: 200 ", 12) != 0) {
		head[strcspn(head, "\r\n")] = '\0';
		snprintf(errbuf, errlen, "%s: /healthz answered '%s'", path,
		    head);
		return -1;
	}
	return 0;

fail:
	if (errno == 0)
		snprintf(errbuf, errlen, "%s: %s: the program closed the "
		    "connection", path, what);
	else if (errno == ETIMEDOUT)
		snprintf(errbuf, errlen, "%s: %s within %d ms", path, what,
		    CHECK_TIMEOUT_MS);
	else
		snprintf(errbuf, errlen, "%s: %s: %s", path, what,
		    errstr(errno, ebuf, sizeof(ebuf)));
	if (fd != -1)
		close(fd);
	return -1;
}
