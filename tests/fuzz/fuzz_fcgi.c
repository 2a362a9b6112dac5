/*
 * fuzz_fcgi.c: libFuzzer target for a whole FastCGI connection.
 *
 * The input is every byte a FastCGI client (nginx) sends on one
 * connection.  A peer thread writes it into one end of a socketpair, a
 * request at a time as nginx does, shuts its side down and reads whatever
 * comes back.  The other end goes to libfcgi exactly as server.c hands
 * over a connection: ipcFd set to it, keepConnection = 1, FCGX_Accept_r,
 * handle_request; after the exchange's `finished` callback the connection
 * is kept or closed as server.c's conn_finished does, until libfcgi gives
 * up on it.  The store is real (store_open on a temporary directory, not
 * durable), so visits are answered by the store thread; each request
 * waits for its answer before the next one is read, as a kept connection
 * does in the server (it is out of the epoll set until then).
 *
 * Oracle beyond the sanitizers: the count on disk goes up by exactly the
 * number of visits that were answered as stored.
 *
 * Build and run: tests/fuzz/run.sh (./dev fuzz).
 */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "handler.h"
#include "metrics.h"
#include "respond.h"
#include "store.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_SEGMENTS	64

struct peer {
	int		 fd;
	const uint8_t	*data;
	size_t		 size;
	size_t		 ends[MAX_SEGMENTS];	/* where each segment ends */
	size_t		 nsegments;
	size_t		 received;
};

struct fuzz_conn {
	struct exchange	 x;		/* first, as in server.c */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 finished;
};

static struct store	*store;
static struct metrics	 metrics;
static struct app	 app;
static char		 data_dir[1024];
static char		 data_path[1024 + sizeof("/" STORE_FILE_NAME)];
static uint64_t		 expected_count;

static int	 walk_records(struct peer *);
static int	 peer_consumed(int);
static void	*peer_main(void *);
static void	 conn_finished(struct exchange *);
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
 * The client: write a segment, wait until the server has read all of it,
 * write the next, all the while reading the answers; then shut down and
 * read until the server closes.  Waiting keeps libfcgi from reading the
 * next request together with this one: it reads ahead into a buffer that
 * handle_request frees, which nginx never triggers (one request at a time
 * on a kept connection), so neither should we.
 */
static void *
peer_main(void *arg)
{
	struct peer	*p = arg;
	struct pollfd	 pfd;
	char		 sink[16384];
	size_t		 sent = 0, seg = 0;
	ssize_t		 n;
	int		 writing = 1, waiting = 0;

	if (p->size == 0) {
		shutdown(p->fd, SHUT_WR);
		writing = 0;
	}
	for (;;) {
		if (waiting && peer_consumed(p->fd))
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
			n = recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT);
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
					waiting = 1;
			}
		}
	}
	close(p->fd);
	return NULL;
}

/*
 * The answer is out (or could not be sent): as server.c's conn_finished,
 * which then drops the connection if the answer failed or nginx does not
 * keep it.  handle_request has already given libfcgi's memory back.
 */
static void
conn_finished(struct exchange *x)
{
	struct fuzz_conn	*c = (struct fuzz_conn *)x;

	pthread_mutex_lock(&c->lock);
	c->finished = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void
cleanup(void)
{
	char	tmp[sizeof(data_dir) + sizeof("/" STORE_TEMP_NAME)];

	if (store != NULL)
		store_close(store);
	store = NULL;
	snprintf(tmp, sizeof(tmp), "%s/%s", data_dir, STORE_TEMP_NAME);
	unlink(tmp);
	unlink(data_path);
	rmdir(data_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	enum store_open_result	 res;
	const char		*tmpdir;
	char			 err[512];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* As server_start: libfcgi closes bad connections without lingering. */
	setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 1);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "fuzz_fcgi: FCGX_Init failed\n");
		exit(1);
	}
	if (clock_set_zone("Europe/Moscow", err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_fcgi: %s\n", err);
		exit(1);
	}
	tmpdir = getenv("TMPDIR");
	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	snprintf(data_dir, sizeof(data_dir), "%s/visits-fuzz.XXXXXX", tmpdir);
	if (mkdtemp(data_dir) == NULL) {
		perror("fuzz_fcgi: mkdtemp");
		exit(1);
	}
	snprintf(data_path, sizeof(data_path), "%s/%s", data_dir,
	    STORE_FILE_NAME);
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
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn	 c;
	struct peer		 p;
	struct store_stats	 st;
	pthread_t		 peer;
	int			 sv[2];

	memset(&p, 0, sizeof(p));
	p.data = data;
	p.size = size;
	if (walk_records(&p) == -1)
		return -1;	/* known libfcgi leak: not in the corpus */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("fuzz_fcgi: socketpair");
		abort();
	}
	p.fd = sv[0];
	if (pthread_create(&peer, NULL, peer_main, &p) != 0)
		abort();

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	c.x.app = &app;
	c.x.finished = conn_finished;
	FCGX_InitRequest(&c.x.request, -1, 0);
	for (;;) {
		c.x.fd = sv[1];
		c.x.request.ipcFd = sv[1];
		c.x.request.keepConnection = 1;
		if (FCGX_Accept_r(&c.x.request) < 0) {
			/* Closed by the peer, or not FastCGI: libfcgi closed it. */
			sv[1] = -1;
			break;
		}
		c.finished = 0;
		handle_request(&c.x);
		pthread_mutex_lock(&c.lock);
		while (!c.finished)
			pthread_cond_wait(&c.cond, &c.lock);
		pthread_mutex_unlock(&c.lock);
		/* handle_request gave everything libfcgi allocated back. */
		if (c.x.request.in != NULL || c.x.request.out != NULL ||
		    c.x.request.err != NULL || c.x.request.paramsPtr != NULL) {
			fprintf(stderr, "fuzz_fcgi: libfcgi request not freed\n");
			abort();
		}
		if (route_counts_visit(c.x.route, c.x.method) &&
		    !c.x.visit.failed)
			expected_count++;
		if (c.x.failed || !c.x.keep)
			break;
	}
	if (sv[1] != -1) {
		/* Out of libfcgi's hands: close it ourselves, as server.c. */
		c.x.request.ipcFd = -1;
		close(sv[1]);
	}
	FCGX_Free(&c.x.request, 0);
	pthread_join(peer, NULL);
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.cond);

	store_stats(store, &st);
	if (st.count != expected_count) {
		fprintf(stderr, "fuzz_fcgi: count %llu, expected %llu\n",
		    (unsigned long long)st.count,
		    (unsigned long long)expected_count);
		abort();
	}
	return 0;
}
