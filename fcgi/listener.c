/*
 * listener.c: the FastCGI listening socket.
 *
 * libfcgi's FCGX_OpenSocket() unlinks the path blindly, never sets the mode
 * and exit()s on a bind failure, so the socket is bound here instead, the
 * way spawn-fcgi does it: refuse a path that a live process serves, replace
 * a stale one, create it 0660 (nginx must be able to write to it), and
 * remove it on exit only if it is still ours.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"

static int	socket_is_live(const struct sockaddr_un *, int *);
static int	remember_path(struct listener *, const char *);

/* 1: someone accepts there; 0: stale; -1: cannot tell (errno). */
static int
socket_is_live(const struct sockaddr_un *sun, int *err)
{
	int	fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err = errno;
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	*err = errno;
	close(fd);
	if (rc == 0)
		return 1;
	if (*err == ECONNREFUSED)
		return 0;
	return -1;
}

static int
remember_path(struct listener *l, const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return -1;
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

int
listener_bind(struct listener *l, const char *path, unsigned backlog,
    char *errbuf, size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old_mask;
	char			e[128];
	int			fd, err, rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "%s: socket path longer than %zu "
		    "bytes", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(errbuf, errlen, "%s: exists and is not a "
			    "socket: refusing to replace it", path);
			return -1;
		}
		switch (socket_is_live(&sun, &err)) {
		case 1:
			snprintf(errbuf, errlen, "%s: another process is "
			    "serving this socket: refusing to take it over",
			    path);
			return -1;
		case 0:
			if (unlink(path) == -1 && errno != ENOENT) {
				snprintf(errbuf, errlen, "%s: remove stale "
				    "socket: %s", path,
				    errstr(errno, e, sizeof(e)));
				return -1;
			}
			log_info("stale_socket_removed", "%s: nobody served "
			    "it, replaced", path);
			break;
		default:
			snprintf(errbuf, errlen, "%s: cannot tell whether the "
			    "socket is in use: %s", path,
			    errstr(err, e, sizeof(e)));
			return -1;
		}
	} else if (errno != ENOENT) {
		snprintf(errbuf, errlen, "%s: %s", path,
		    errstr(errno, e, sizeof(e)));
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(errbuf, errlen, "socket: %s",
		    errstr(errno, e, sizeof(e)));
		return -1;
	}
	/* umask around bind(): the socket is born 0660, never wider. */
	old_mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	umask(old_mask);
	if (rc == -1) {
		snprintf(errbuf, errlen, "%s: bind: %s", path,
		    errstr(err, e, sizeof(e)));
		close(fd);
		return -1;
	}
	if (listen(fd, (int)backlog) == -1) {
		snprintf(errbuf, errlen, "%s: listen: %s", path,
		    errstr(errno, e, sizeof(e)));
		close(fd);
		unlink(path);
		return -1;
	}
	l->fd = fd;
	(void)remember_path(l, path);
	return 0;
}

/* The socket that spawn-fcgi (or another manager) handed over on fd 0. */
int
listener_inherit(struct listener *l, int fd, char *errbuf, size_t errlen)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(sun);
	int			accepting = 0;
	socklen_t		optlen = sizeof(accepting);

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting,
	    &optlen) == -1 || !accepting) {
		snprintf(errbuf, errlen, "fd %d is not a listening socket: "
		    "start visits-fcgi under spawn-fcgi, or give --socket "
		    "PATH", fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	l->fd = fd;
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
	    sun.sun_family == AF_UNIX && sun.sun_path[0] != '\0')
		(void)remember_path(l, sun.sun_path);
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
