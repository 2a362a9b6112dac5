/*
 * faultshim.c: an LD_PRELOAD library that makes the counter store's I/O
 * fail with EIO on demand, for tests/campaign/faults.sh.
 *
 * Inactive unless VISITS_FAULT_FLAG names a file.  While that file exists,
 * each word in it turns one fault on:
 *
 *	write      write() to visits.tmp fails with EIO
 *	fdatasync  fdatasync() of visits.tmp fails with EIO
 *	fsync      fsync() of a directory fails with EIO
 *
 * Everything else (sockets, the log on stderr) passes through untouched.
 * Built by automake (tests/campaign/local.am) as faultshim.so.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_NAME	"/visits.tmp"

static int	fault_on(const char *);
static int	is_temp_file(int);

static int
fault_on(const char *word)
{
	const char	*flag = getenv("VISITS_FAULT_FLAG");
	char		 text[256];
	ssize_t		 n;
	int		 fd, saved = errno;

	if (flag == NULL || *flag == '\0')
		return 0;
	fd = open(flag, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		errno = saved;
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	errno = saved;
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strstr(text, word) != NULL;
}

static int
is_temp_file(int fd)
{
	char	link[64], target[4096];
	ssize_t	n;
	size_t	tl = sizeof(TEMP_NAME) - 1;
	int	saved = errno;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	errno = saved;
	if (n < (ssize_t)tl)
		return 0;
	target[n] = '\0';
	return strcmp(target + n - tl, TEMP_NAME) == 0;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t	(*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))
		    dlsym(RTLD_NEXT, "write");
	if (fd > 2 && is_temp_file(fd) && fault_on("write")) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, len);
}

int
fdatasync(int fd)
{
	static int	(*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (is_temp_file(fd) && fault_on("fdatasync")) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int
fsync(int fd)
{
	static int	(*real)(int);
	struct stat	st;
	int		saved = errno;

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && fault_on("fsync")) {
		errno = EIO;
		return -1;
	}
	errno = saved;
	return real(fd);
}
