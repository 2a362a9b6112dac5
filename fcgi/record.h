/*
 * record.h: writes a FastCGI answer (STDOUT records and END_REQUEST).
 */
#ifndef VISITS_RECORD_H
#define VISITS_RECORD_H

#include <stddef.h>

int	record_send_answer(int fd, int request_id, const char *head,
	    size_t head_len, const char *body, size_t body_len);

#endif
