/*
 * handler.h: one FastCGI request in, one answer out.
 */
#ifndef VISITS_HANDLER_H
#define VISITS_HANDLER_H

#include <fcgiapp.h>

#include "respond.h"

#define HANDLER_BODY_SIZE	4096	/* every answer but /metrics */

void	handle_request(const struct app *, FCGX_Request *,
	    char body[HANDLER_BODY_SIZE]);

#endif
