/*
 * record.h: FastCGI records: has a whole request arrived, and the answer
 * (STDOUT records and END_REQUEST).
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
int	record_send_answer(int fd, int request_id, const char *head,
	    size_t head_len, const char *body, size_t body_len);

#endif
