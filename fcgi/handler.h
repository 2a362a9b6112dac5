/*
 * handler.h: one FastCGI request in, one answer out.
 *
 * An exchange is one request on one connection.  Most requests are
 * answered at once; a visit is handed to the store and answered by the
 * store thread when the count is on disk, so no thread waits for a sync.
 * Either way `finished` is called, on the thread that answered, once the
 * answer is written (or could not be: `failed`).  libfcgi parses the request; its memory is given back
 * as soon as the request is read, and record.c writes the answer.
 */
#ifndef VISITS_HANDLER_H
#define VISITS_HANDLER_H

#include <stdint.h>

#include <fcgiapp.h>

#include "respond.h"

struct exchange {
	FCGX_Request		 request;
	const struct app	*app;
	int			 fd;		/* connection; set by its owner */
	int			 request_id;
	int			 keep;		/* nginx keeps the connection */
	int			 failed;	/* the answer could not be sent */
	int			 waited;	/* answered from the store */
	enum method		 method;
	enum route		 route;
	uint64_t		 start_ns;
	struct store_waiter	 visit;
	void			(*finished)(struct exchange *);
};

void	handle_request(struct exchange *);

#endif
