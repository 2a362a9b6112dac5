/* Bounded buffers: escaping, numbers, overflow, writing out. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"

#define BIG	(4 << 20)

static void
on_alarm(int sig)
{
	(void)sig;
}

struct drain {
	int	 fd;
	char	*got;
	size_t	 len;
};

/* Read the pipe slowly, so that the writer blocks and gets interrupted. */
static void *
drain(void *arg)
{
	struct drain	*d = arg;
	ssize_t		 n;

	while ((n = read(d->fd, d->got + d->len, 4096)) > 0) {
		d->len += (size_t)n;
		if (d->len % (256 * 1024) < 4096)
			usleep(1000);
	}
	return NULL;
}

/*
 * A write to a full pipe, interrupted every 200 us by a signal without
 * SA_RESTART, returns early (part written, or EINTR): buf_write must go
 * on until every byte is out, in order.
 */
static void
test_write_interrupted(void)
{
	struct sigaction	sa;
	struct itimerval	it = { { 0, 200 }, { 0, 200 } }, off = { 0 };
	struct buf		b;
	struct drain		d = { 0 };
	sigset_t		alarm_only;
	pthread_t		t;
	char			*data;
	int			p[2], rc;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	data = malloc(BIG + 1);
	d.got = malloc(BIG);
	if (data == NULL || d.got == NULL || pipe(p) == -1)
		abort();
	for (i = 0; i < BIG; i++)
		data[i] = (char)('a' + i % 26);
	buf_init(&b, data, BIG + 1);
	b.len = BIG;
	d.fd = p[0];
	/* The signal must interrupt the writer, not the reader. */
	sigemptyset(&alarm_only);
	sigaddset(&alarm_only, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_only, NULL);
	pthread_create(&t, NULL, drain, &d);
	pthread_sigmask(SIG_UNBLOCK, &alarm_only, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	rc = buf_write(&b, p[1]);
	setitimer(ITIMER_REAL, &off, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	ok(rc == 0, "buf_write through signals: succeeded");
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
	is_str(buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\u0001e\\u007f\"",
	    "JSON escaping of quotes, backslashes and control bytes");
	ok(!b.overflow, "no overflow");

	buf_init(&b, storage, sizeof(storage));
	buf_put_json_string(&b, "Москва");
	is_str(buf_cstr(&b), "\"Москва\"", "UTF-8 passes through");

	buf_init(&b, storage, sizeof(storage));
	buf_put_html(&b, "<a href=\"x\">&'</a>");
	is_str(buf_cstr(&b),
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;",
	    "HTML escaping");

	buf_init(&b, storage, sizeof(storage));
	buf_put_u64(&b, 0);
	buf_puts(&b, " ");
	buf_put_u64(&b, UINT64_MAX);
	is_str(buf_cstr(&b), "0 18446744073709551615", "u64 edges");

	buf_init(&b, tiny, sizeof(tiny));
	buf_puts(&b, "1234567");
	ok(!b.overflow, "7 bytes fit in 8 (NUL kept)");
	buf_puts(&b, "8");
	ok(b.overflow, "the 8th byte overflows");
	is_str(buf_cstr(&b), "1234567", "content kept, not truncated "
	    "midway");
	buf_puts(&b, "");
	ok(b.overflow, "overflow is sticky");

	buf_init(&b, tiny, sizeof(tiny));
	buf_printf(&b, "%s", "123456789");
	ok(b.overflow, "printf overflow detected");
	is_str(buf_cstr(&b), "", "and nothing half-written");

	test_write_interrupted();
	return tap_done();
}
