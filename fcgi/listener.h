/*
 * listener.h: the listening Unix socket, inherited on fd 0.
 */
#ifndef VISITS_LISTENER_H
#define VISITS_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

struct listener {
	int	 fd;
	char	 path[108];	/* removed on exit; "" if none */
	dev_t	 dev;		/* ...only while it is still our socket */
	ino_t	 ino;
};

int	listener_inherit(struct listener *, int fd, char *errbuf,
	    size_t errlen);
void	listener_close(struct listener *);

#endif
