/*
 * fuzz_fcgi.c: libFuzzer target for a whole FastCGI connection.
 *
 * The input is every byte a FastCGI client (nginx) sends on one
 * connection.  The program's own server serves it: server_start() on a
 * listening Unix socket (what spawn-fcgi hands the program), with the
 * real store (store_open on a temporary directory, not durable), so the
 * event loop, the peek for a whole request, libfcgi, handle_request, the
 * store thread's answer and conn_finished all run as in visits-fcgi.
 * The client connects, writes the input a request at a time as nginx
 * does, shuts its side down and reads until the server closes the
 * connection.
 *
 * Oracle beyond the sanitizers: the count on disk goes up by exactly the
 * number of visits answered as stored (a 200 to GET / or GET /time, whose
 * bodies are the only ones that hold the time).
 *
 * Build and run: tests/fuzz/run.sh (./dev fuzz).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "metrics.h"
#include "respond.h"
#include "server.h"
#include "store.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_SEGMENTS	64
#define IO_TIMEOUT	2	/* seconds: a backstop, the peer always ends */
#define WAIT_READ_MS	20	/* for the server to read a segment */

struct peer {
	int		 fd;
	const uint8_t	*data;
	size_t		 size;
	size_t		 ends[MAX_SEGMENTS];	/* where each segment ends */
	size_t		 nsegments;
	uint8_t		*got;			/* what came back */
	size_t		 received;
	size_t		 cap;
};

static struct store	*store;
static struct server	*server;
static struct metrics	 metrics;
static struct app	 app;
static struct sockaddr_un server_addr;
static char		 data_dir[64];
static uint64_t		 expected_count;

static int	 walk_records(struct peer *);
static int	 peer_consumed(int);
static void	 peer_run(struct peer *);
static uint64_t	 answered_visits(const struct peer *);
static void	 cleanup(void);

/*
 * Does this PARAMS stream hold a name-value pair whose lengths add up past
 * INT_MAX?  libfcgi 2.4.2 (Debian's, with the CVE-2025-23016 fix) checks
 * each length against INT_MAX but computes nameLen + valueLen + 2 in an
 * int: the sum goes negative, malloc() fails and libfcgi's assert()
 * aborts the whole process.  Reported in tests/fuzz/README.md and shown by
 * tests/hostile/fcgi-garbage.sh.
 *
 * Pairs claiming more than HUGE_PAIR bytes are skipped too: libfcgi
 * mallocs the claimed size before reading, which under ASan costs a
 * second or more for a gigabyte (the shadow memory), and such a pair can
 * never be satisfied by an input of at most -max_len bytes anyway: the
 * same code runs, faster, for a pair a few bytes longer than its data.
 */
#define HUGE_PAIR	(1u << 20)

/* One name-value pair's two lengths at b (0 if cut short). */
static size_t
pair_lengths(const uint8_t *b, size_t len, uint64_t l[2])
{
	size_t	off = 0;
	int	i;

	for (i = 0; i < 2; i++) {
		if (off >= len)
			return 0;
		if (b[off] & 0x80) {
			if (off + 4 > len)
				return 0;
			l[i] = (uint64_t)(b[off] & 0x7f) << 24 |
			    (uint64_t)b[off + 1] << 16 |
			    (uint64_t)b[off + 2] << 8 | b[off + 3];
			off += 4;
		} else
			l[i] = b[off++];
	}
	return off;
}

/*
 * Could libfcgi read a pair that overflows anywhere in the input?  Its
 * reader skips padding, bad headers and other requests' records in ways
 * a walk over the records does not follow exactly, so every offset is
 * tried: cautious, and cheap.
 */
static int
anywhere_overflow(const uint8_t *b, size_t len)
{
	uint64_t	l[2];
	size_t		i;

	for (i = 0; i < len; i++)
		if (pair_lengths(b + i, len - i, l) > 0 &&
		    l[0] + l[1] + 2 > INT32_MAX)
			return 1;
	return 0;
}

static int
params_overflow(const uint8_t *b, size_t len)
{
	size_t		off = 0, n;
	uint64_t	l[2];

	while (off < len) {
		n = pair_lengths(b + off, len - off, l);
		if (n == 0)
			return 0;
		off += n;
		if (l[0] + l[1] + 2 > INT32_MAX || l[0] + l[1] > HUGE_PAIR)
			return 1;
		off += l[0] + l[1];
	}
	return 0;
}

/*
 * Split the input into segments as nginx sends them: one request, then
 * wait for the answer.  A segment ends after each empty STDIN record
 * (the end of a request); the rest of the input is the last segment.
 * Returns -1 for an input that hits libfcgi's own known crash (above),
 * which is not ours to find again and again.  The walk is an
 * approximation of libfcgi's reader, on the cautious side.
 */
static int
walk_records(struct peer *p)
{
	uint8_t	*params;
	size_t	 off = 0, len, clen, plen = 0;
	int	 type, id, current = -1, rc = 0;

	if (anywhere_overflow(p->data, p->size))
		return -1;
	if ((params = malloc(p->size + 1)) == NULL)
		abort();
	p->nsegments = 0;
	while (off + 8 <= p->size) {
		if (p->data[off] != 1) {
			/* libfcgi may go on with the next 8 bytes. */
			off += 8;
			continue;
		}
		type = p->data[off + 1];
		id = p->data[off + 2] << 8 | p->data[off + 3];
		clen = (size_t)(p->data[off + 4] << 8 | p->data[off + 5]);
		len = clen + p->data[off + 6];
		if (type == 1)
			current = id;
		/* The PARAMS stream of the current request (GET_VALUES too). */
		if ((type == 4 && id == current) || type == 9) {
			if (clen == 0 || type == 9) {
				if (type == 9) {
					plen = off + 8 + clen <= p->size ?
					    clen : p->size - off - 8;
					memcpy(params, p->data + off + 8, plen);
				}
				if (params_overflow(params, plen)) {
					rc = -1;
					break;
				}
				plen = 0;
			} else {
				if (off + 8 + clen > p->size)
					clen = p->size - off - 8;
				memcpy(params + plen, p->data + off + 8, clen);
				plen += clen;
			}
		}
		off += 8 + len;
		if (type == 5 && len == 0 && off <= p->size &&
		    p->nsegments < MAX_SEGMENTS - 1)
			p->ends[p->nsegments++] = off;
	}
	/* A stream cut short is still parsed as far as it goes. */
	if (rc == 0 && params_overflow(params, plen))
		rc = -1;
	free(params);
	if (rc == -1)
		return -1;
	if (p->nsegments > 0 && p->ends[p->nsegments - 1] > p->size)
		p->ends[p->nsegments - 1] = p->size;
	if (p->nsegments == 0 || p->ends[p->nsegments - 1] != p->size)
		p->ends[p->nsegments++] = p->size;
	return 0;
}

/* Has the server read everything we sent?  (Unix sockets: SIOCOUTQ.) */
static int
peer_consumed(int fd)
{
	int	queued = 0;

	if (ioctl(fd, SIOCOUTQ, &queued) == -1)
		return 1;
	return queued == 0;
}

/*
 * The client: write a segment, wait until the server has read all of it
 * (or WAIT_READ_MS: a segment that is not a whole request is never read),
 * write the next, all the while reading the answers; then shut down and
 * read until the server closes.  Waiting keeps libfcgi from reading the
 * next request together with this one, which nginx never makes it do (one
 * request at a time on a kept connection), so neither should we.
 */
static void
peer_run(struct peer *p)
{
	struct pollfd	 pfd;
	size_t		 sent = 0, seg = 0;
	ssize_t		 n;
	int		 writing = 1, waiting = 0;

	if (p->size == 0) {
		shutdown(p->fd, SHUT_WR);
		writing = 0;
	}
	for (;;) {
		if (waiting > 0 && (peer_consumed(p->fd) ||
		    --waiting == 0))
			waiting = 0;
		pfd.fd = p->fd;
		pfd.events = POLLIN | (writing && !waiting ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, waiting ? 1 : -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (p->cap - p->received < 16384) {
				p->cap = p->cap * 2 + 16384;
				if ((p->got = realloc(p->got, p->cap)) == NULL)
					abort();
			}
			n = recv(p->fd, p->got + p->received,
			    p->cap - p->received, MSG_DONTWAIT);
			if (n == 0)
				break;
			if (n > 0)
				p->received += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				break;
		}
		if (writing && !waiting && (pfd.revents & (POLLOUT | POLLERR))) {
			n = send(p->fd, p->data + sent, p->ends[seg] - sent,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				/* The server closed on us. */
				shutdown(p->fd, SHUT_WR);
				writing = 0;
			} else if (sent == p->ends[seg]) {
				if (++seg == p->nsegments) {
					shutdown(p->fd, SHUT_WR);
					writing = 0;
				} else
					waiting = WAIT_READ_MS;
			}
		}
	}
}

/*
 * The visits answered as stored: the STDOUT records that came back,
 * joined (the server writes well-formed records, one request after the
 * other), hold one time body for each.
 */
static uint64_t
answered_visits(const struct peer *p)
{
	static const char *const marks[] = { "{\"time\":\"", "<p id=\"time\">" };
	char		*out, *at;
	size_t		 off = 0, len = 0, clen, i;
	uint64_t	 n = 0;

	if ((out = malloc(p->received + 1)) == NULL)
		abort();
	while (off + 8 <= p->received) {
		clen = (size_t)(p->got[off + 4] << 8 | p->got[off + 5]);
		if (off + 8 + clen > p->received)
			break;
		if (p->got[off + 1] == 6) {	/* FCGI_STDOUT */
			memcpy(out + len, p->got + off + 8, clen);
			len += clen;
		}
		off += 8 + clen + p->got[off + 6];
	}
	out[len] = '\0';
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		for (at = out; (at = strstr(at, marks[i])) != NULL; at++)
			n++;
	free(out);
	return n;
}

static void
cleanup(void)
{
	char	path[sizeof(data_dir) + 16];

	if (server != NULL) {
		server_stop(server);
		(void)server_wait(server);
	}
	if (store != NULL)
		store_close(store);
	if (server != NULL)
		server_free(server);
	server = NULL;
	store = NULL;
	unlink(server_addr.sun_path);
	snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_TEMP_NAME);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_FILE_NAME);
	unlink(path);
	rmdir(data_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	enum store_open_result	 res;
	const char		*tmpdir;
	char			 err[512];
	int			 lfd;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (clock_set_zone("Europe/Moscow", err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_fcgi: %s\n", err);
		exit(1);
	}
	/* Short: the socket's path lives in it (at most 107 bytes). */
	tmpdir = getenv("TMPDIR");
	if (tmpdir == NULL || *tmpdir == '\0' || strlen(tmpdir) > 40)
		tmpdir = "/tmp";
	snprintf(data_dir, sizeof(data_dir), "%s/visits-fuzz.XXXXXX", tmpdir);
	if (mkdtemp(data_dir) == NULL) {
		perror("fuzz_fcgi: mkdtemp");
		exit(1);
	}
	store = store_open(data_dir, 0, &res, err, sizeof(err));
	if (store == NULL) {
		fprintf(stderr, "fuzz_fcgi: store_open: %s\n", err);
		exit(1);
	}
	atexit(cleanup);
	metrics_init(&metrics);
	app.store = store;
	app.metrics = &metrics;
	app.hostname = "fuzz-0";
	app.timezone = "Europe/Moscow";

	/* What spawn-fcgi hands the program: a listening Unix socket. */
	server_addr.sun_family = AF_UNIX;
	snprintf(server_addr.sun_path, sizeof(server_addr.sun_path),
	    "%s/s.sock", data_dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&server_addr,
	    sizeof(server_addr)) == -1 || listen(lfd, 64) == -1) {
		perror("fuzz_fcgi: listening socket");
		exit(1);
	}
	server = server_start(&app, lfd, IO_TIMEOUT, err, sizeof(err));
	if (server == NULL) {
		fprintf(stderr, "fuzz_fcgi: server_start: %s\n", err);
		exit(1);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer		 p;
	struct store_stats	 st;

	memset(&p, 0, sizeof(p));
	p.data = data;
	p.size = size;
	if (walk_records(&p) == -1)
		return -1;	/* known libfcgi crash: not in the corpus */
	p.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p.fd == -1 || connect(p.fd, (struct sockaddr *)&server_addr,
	    sizeof(server_addr)) == -1) {
		perror("fuzz_fcgi: connect");
		abort();
	}
	peer_run(&p);
	close(p.fd);
	/* The server closed the connection: every answer is out. */
	expected_count += answered_visits(&p);
	free(p.got);

	store_stats(store, &st);
	if (st.count != expected_count) {
		fprintf(stderr, "fuzz_fcgi: count %llu, expected %llu\n",
		    (unsigned long long)st.count,
		    (unsigned long long)expected_count);
		abort();
	}
	return 0;
}
