/*
 * server.h: FastCGI connections and the event loop that serves them.
 */
#ifndef VISITS_SERVER_H
#define VISITS_SERVER_H

#include "respond.h"

struct server;

struct server	*server_start(const struct app *, int listen_fd,
		    unsigned io_timeout, char *errbuf, size_t errlen);
void		 server_stop(struct server *);
int		 server_wait(struct server *);
void		 server_free(struct server *);

#endif
