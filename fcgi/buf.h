/*
 * buf.h: a fixed-capacity text buffer that never overflows.
 *
 * Responses, log lines and the metrics page are built in memory first, so
 * that their length is known before the headers go out.  A buffer that runs
 * out of room remembers it (overflow) instead of truncating silently.
 */
#ifndef VISITS_BUF_H
#define VISITS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	int	 overflow;
};

void	buf_init(struct buf *, char *, size_t);
void	buf_append(struct buf *, const char *, size_t);
void	buf_puts(struct buf *, const char *);
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_put_u64(struct buf *, uint64_t);
void	buf_put_json_string(struct buf *, const char *);
void	buf_put_html(struct buf *, const char *);
int	buf_write(const struct buf *, int);

#endif
