/*
 * buf.c: bounded text buffers with JSON and HTML escaping.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

void
buf_init(struct buf *b, char *storage, size_t cap)
{
	b->data = storage;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	if (cap > 0)
		b->data[0] = '\0';
}

void
buf_append(struct buf *b, const char *s, size_t n)
{
	/* Keep one byte for the terminating NUL. */
	if (b->overflow || b->cap == 0 || n > b->cap - 1 - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	size_t	room;

	if (b->overflow || b->cap == 0) {
		b->overflow = 1;
		return;
	}
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		b->data[b->len] = '\0';
		b->overflow = 1;
		return;
	}
	b->len += (size_t)n;
}

void
buf_put_u64(struct buf *b, uint64_t v)
{
	char	digits[20];
	size_t	i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_append(b, digits + i, sizeof(digits) - i);
}

/* A JSON string literal, quotes included; control bytes become \u00XX. */
void
buf_put_json_string(struct buf *b, const char *s)
{
	static const char *const esc[128] = {
		['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n",
		['\r'] = "\\r", ['\t'] = "\\t"
	};
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char	u[7] = "\\u00";

	buf_append(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 128 && esc[*p] != NULL)
			buf_puts(b, esc[*p]);
		else if (*p < 0x20 || *p == 0x7f) {
			u[4] = hex[*p >> 4];
			u[5] = hex[*p & 0xf];
			buf_append(b, u, 6);
		} else
			buf_append(b, (const char *)p, 1);
	}
	buf_append(b, "\"", 1);
}

void
buf_put_html(struct buf *b, const char *s)
{
	static const char *const entity[128] = {
		['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;",
		['"'] = "&quot;", ['\''] = "&#39;"
	};
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 128 && entity[*p] != NULL)
			buf_puts(b, entity[*p]);
		else
			buf_append(b, (const char *)p, 1);
	}
}

/*
 * Write all of it to fd, going on after a short write or a signal (a
 * pipe or a full disk can take part of a write): 0, or -1 with errno
 * (ENOSPC when write() takes nothing).
 */
int
buf_write(const struct buf *b, int fd)
{
	const char	*p = b->data;
	size_t		 left = b->len;
	ssize_t		 n;

	while (left > 0) {
		n = write(fd, p, left);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}
