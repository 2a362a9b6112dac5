/*
 * handler.h: one FastCGI request in, one answer out.
 *
 * An exchange is one request on one connection.  Its route says what it needs
 * first (route.c); a request that needs the disk is answered by the store
 * thread once the store found out, one that needs a new view of the cluster
 * by the view's thread once it is made, so no thread waits for a sync or the
 * network, and every other request at once.  Either way `finished` is called,
 * on the thread that answered, once the answer is written (or could not be:
 * `failed`).  libfcgi parses the request; its memory is given back as soon as
 * the request is read, and record.c writes the answer.
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
	enum method		 method;
	const struct route	*route;
	uint64_t		 start_ns;
	struct store_waiter	 stored;	/* what the store said */
	struct cluster_waiter	 viewed;	/* a view, or why not new */
	void			(*finished)(struct exchange *);
};

void	handle_request(struct exchange *);

#endif
