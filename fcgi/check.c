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
#include <fastcgi.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "log.h"
#include "record.h"

#define CHECK_REQUEST_ID	1
#define CHECK_HEAD_SIZE		512	/* the status line is the first */

static int	transfer(int, unsigned char *, size_t, short, long long);

/*
 * All `len` bytes sent (events POLLOUT) or received (POLLIN) before the
 * deadline; -1 with errno ETIMEDOUT at the deadline, or with errno 0 if
 * the program closed the connection first.
 */
static int
transfer(int fd, unsigned char *p, size_t len, short events,
    long long deadline_ns)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	long long	left;
	ssize_t		n;

	while (len > 0) {
		left = (deadline_ns - clock_monotonic_ns()) / NS_PER_MS;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* Not ready yet, or a signal: send() or recv() says EAGAIN. */
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
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
	static const FCGI_BeginRequestBody begin = { 0, FCGI_RESPONDER, 0,
	    { 0 } };
	struct sockaddr_un	 sun;
	FCGI_Header		 hdr;
	unsigned char		 req[512], params[256];
	unsigned char		 content[FCGI_MAX_LENGTH + 255]; /* a record */
	char			 head[CHECK_HEAD_SIZE], ebuf[128];
	const char		*what;
	long long		 deadline_ns;
	size_t			 len = 0, plen = 0, hlen = 0, clen, n;
	int			 fd, ended = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "%s: the path is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	plen += record_put_pair(params + plen, "REQUEST_METHOD", "GET");
	plen += record_put_pair(params + plen, "REQUEST_URI", "/healthz");
	plen += record_put_pair(params + plen, "DOCUMENT_URI", "/healthz");
	plen += record_put_pair(params + plen, "SERVER_PROTOCOL", "HTTP/1.1");
	len += record_put(req + len, FCGI_BEGIN_REQUEST, CHECK_REQUEST_ID,
	    &begin, sizeof(begin));
	len += record_put(req + len, FCGI_PARAMS, CHECK_REQUEST_ID, params,
	    plen);
	len += record_put(req + len, FCGI_PARAMS, CHECK_REQUEST_ID, NULL, 0);
	len += record_put(req + len, FCGI_STDIN, CHECK_REQUEST_ID, NULL, 0);

	deadline_ns = clock_monotonic_ns() + CHECK_TIMEOUT_MS * NS_PER_MS;
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
	if (transfer(fd, req, len, POLLOUT, deadline_ns) == -1) {
		what = "send";
		goto fail;
	}
	what = "no answer";
	while (!ended) {
		if (transfer(fd, (unsigned char *)&hdr, sizeof(hdr), POLLIN,
		    deadline_ns) == -1)
			goto fail;
		clen = (size_t)hdr.contentLengthB1 << 8 | hdr.contentLengthB0;
		if (transfer(fd, content, clen + hdr.paddingLength, POLLIN,
		    deadline_ns) == -1)
			goto fail;
		if (hdr.type == FCGI_STDOUT && hlen < sizeof(head) - 1) {
			n = clen < sizeof(head) - 1 - hlen ?
			    clen : sizeof(head) - 1 - hlen;
			memcpy(head + hlen, content, n);
			hlen += n;
		} else if (hdr.type == FCGI_END_REQUEST)
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
