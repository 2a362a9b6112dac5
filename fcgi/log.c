/*
 * log.c: JSON log lines on stderr.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static void	log_vevent(enum log_level, const char *, const char *,
		    va_list) __attribute__((format(printf, 3, 0)));

static const char *const level_names[] = { "info", "warn", "error" };

static void
log_vevent(enum log_level level, const char *event, const char *fmt,
    va_list ap)
{
	char		msg[1024], line[2048], stamp[32];
	struct buf	b;
	struct timespec	now;
	struct tm	tm;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	buf_init(&b, line, sizeof(line));
	buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":",
	    stamp, now.tv_nsec / 1000000L, level_names[level]);
	buf_put_json_string(&b, event);
	buf_puts(&b, ",\"msg\":");
	buf_put_json_string(&b, msg);
	buf_puts(&b, "}\n");
	if (b.overflow) {
		/* msg is at most 1023 bytes, escaped at most 6x: cut it. */
		buf_init(&b, line, sizeof(line));
		buf_puts(&b, "{\"level\":\"error\",\"event\":\"log_overflow\"}\n");
	}
	/* One write() per line, so that lines from threads never mix. */
	(void)buf_write(&b, STDERR_FILENO);
}

void
log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vevent(level, event, fmt, ap);
	va_end(ap);
}

void
fatal(int status, const char *event, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vevent(LOG_LEVEL_ERROR, event, fmt, ap);
	va_end(ap);
	exit(status);
}

/* strerror() is not thread safe; this is. */
const char *
errstr(int errnum, char *storage, size_t size)
{
	return strerror_r(errnum, storage, size);
}
