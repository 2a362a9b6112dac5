/* Bounded buffers: escaping, numbers, overflow, writing out. */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

#define BIG	(4 << 20)
#define KICK	(64 * 1024)	/* the reader makes this much room a round */

static void
on_signal(int sig)
{
	(void)sig;
}

struct drain {
	int		 fd;
	pthread_t	 writer;
	char		*got;
	size_t		 len;
	unsigned	 kicks;
};

/*
 * Let the writer fill the pipe and block in write(), signal it twice
 * (the first signal may only cut a write short; the second finds the
 * next write() blocked with nothing written yet, which fails with EINTR),
 * then read KICK bytes to make room; until the writer closes the pipe.
 * Every round reads, so a slow run (valgrind) is only slower, never
 * stuck.
 */
static void *
drain(void *arg)
{
	struct drain	*d = arg;
	char		 chunk[4096];
	size_t		 got;
	ssize_t		 n;
	int		 cap = fcntl(d->fd, F_GETPIPE_SZ), avail, i;

	for (;;) {
		for (i = 0; i < 100; i++) {	/* at most about 10 ms */
			if (ioctl(d->fd, FIONREAD, &avail) == -1 ||
			    avail >= cap)
				break;
			usleep(100);
		}
		for (i = 0; i < 2; i++) {
			usleep(1000);
			pthread_kill(d->writer, SIGUSR1);
			d->kicks++;
		}
		for (got = 0; got < KICK; got += (size_t)n) {
			if ((n = read(d->fd, chunk, sizeof(chunk))) <= 0)
				return NULL;
			/* Bytes beyond BIG are counted, not kept. */
			if (d->len + (size_t)n <= BIG)
				memcpy(d->got + d->len, chunk, (size_t)n);
			d->len += (size_t)n;
		}
	}
}

/*
 * A write to a full pipe that a signal without SA_RESTART interrupts
 * returns early (part written, or EINTR): buf_write must go on until
 * every byte is out, in order.
 */
static void
test_write_interrupted(void)
{
	struct sigaction	sa;
	struct buf		b;
	struct drain		d = { 0 };
	pthread_t		t;
	char			*data;
	int			p[2], rc;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	data = malloc(BIG + 1);
	d.got = malloc(BIG);
	if (data == NULL || d.got == NULL || pipe(p) == -1)
		abort();
	for (i = 0; i < BIG; i++)
		data[i] = (char)('a' + i % 26);
	buf_init(&b, data, BIG + 1);
	b.len = BIG;
	d.fd = p[0];
	d.writer = pthread_self();
	pthread_create(&t, NULL, drain, &d);
	rc = buf_write(&b, p[1]);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	ok(rc == 0, "buf_write through %u signals: succeeded", d.kicks);
	ok(d.len == BIG && memcmp(d.got, data, BIG) == 0,
	    "buf_write through signals: every byte arrived in order "
	    "(%zu of %d)", d.len, BIG);
	free(data);
	free(d.got);
}

int
main(void)
{
	char		storage[64], tiny[8];
	struct buf	b;

	buf_init(&b, storage, sizeof(storage));
	buf_put_json_string(&b, "a\"b\\c\nd\x01" "e\x7f");
	is_str(b.data, "\"a\\\"b\\\\c\\nd\\u0001e\\u007f\"",
	    "JSON escaping of quotes, backslashes and control bytes");
	ok(!b.overflow, "no overflow");

	buf_init(&b, storage, sizeof(storage));
	buf_put_json_string(&b, "Москва");
	is_str(b.data, "\"Москва\"", "UTF-8 passes through");

	buf_init(&b, storage, sizeof(storage));
	buf_put_html(&b, "<a href=\"x\">&'</a>");
	is_str(b.data,
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;",
	    "HTML escaping");

	buf_init(&b, storage, sizeof(storage));
	buf_put_u64(&b, 0);
	buf_puts(&b, " ");
	buf_put_u64(&b, UINT64_MAX);
	is_str(b.data, "0 18446744073709551615", "u64 edges");

	buf_init(&b, tiny, sizeof(tiny));
	buf_puts(&b, "1234567");
	ok(!b.overflow, "7 bytes fit in 8 (NUL kept)");
	buf_puts(&b, "8");
	ok(b.overflow, "the 8th byte overflows");
	is_str(b.data, "1234567", "content kept, not truncated "
	    "midway");
	buf_puts(&b, "");
	ok(b.overflow, "overflow is sticky");

	buf_init(&b, tiny, sizeof(tiny));
	buf_printf(&b, "%s", "123456789");
	ok(b.overflow, "printf overflow detected");
	is_str(b.data, "", "and nothing half-written");

	test_write_interrupted();
	return tap_done();
}
