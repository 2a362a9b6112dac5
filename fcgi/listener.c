/*
 * listener.c: the FastCGI listening socket, inherited on fd 0.
 *
 * spawn-fcgi (fcgi/visits-serve) binds it 0660, refuses a path that a live
 * process serves and replaces a stale one; the program removes it on exit,
 * and only if the path still names the socket it was given.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"

/* The socket that spawn-fcgi (or another manager) handed over on fd 0. */
int
listener_inherit(struct listener *l, int fd, char *errbuf, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		st;
	socklen_t		len = sizeof(sun);
	int			accepting = 0;
	socklen_t		optlen = sizeof(accepting);

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting,
	    &optlen) == -1 || !accepting) {
		snprintf(errbuf, errlen, "fd %d is not a listening socket: "
		    "start visits-fcgi with visits-serve (spawn-fcgi)", fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	l->fd = fd;
	memset(&sun, 0, sizeof(sun));
	/* Its path and identity, to remove it at exit if still ours. */
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
	    sun.sun_family == AF_UNIX && sun.sun_path[0] != '\0' &&
	    stat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		snprintf(l->path, sizeof(l->path), "%s", sun.sun_path);
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return 0;
}

void
listener_close(struct listener *l)
{
	struct stat	st;

	if (l->fd != -1)
		close(l->fd);
	l->fd = -1;
	/* A successor may already have bound the same path: leave it. */
	if (l->path[0] != '\0' && lstat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	l->path[0] = '\0';
}
