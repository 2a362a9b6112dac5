/*
 * record.h: FastCGI records: has a whole request arrived, records and
 * name-value pairs put in a buffer, and the answer (STDOUT records and
 * END_REQUEST).  The constants are libfcgi's <fastcgi.h>.
 */
#ifndef VISITS_RECORD_H
#define VISITS_RECORD_H

#include <stddef.h>

enum record_state {
	RECORD_INCOMPLETE,	/* wait for more bytes */
	RECORD_COMPLETE,	/* up to the empty STDIN record */
	RECORD_INVALID		/* not FastCGI version 1 */
};

enum record_state record_request_state(const unsigned char *, size_t);
size_t	record_put(unsigned char *, int type, int request_id,
	    const void *content, size_t len);
size_t	record_put_pair(unsigned char *, const char *name, const char *value);
int	record_send_answer(int fd, int request_id, const char *head,
	    size_t head_len, const char *body, size_t body_len);

#endif
