/*
 * syncshim.c: an LD_PRELOAD library that turns one kind of sync into a
 * no-op, for the controls of tests/powercut (a program that skips it must
 * be caught).  VISITS_SYNC_SKIP says which:
 *
 *	dirsync    fsync() of a directory returns 0 without syncing
 *	fdatasync  fdatasync() returns 0 without syncing
 *
 * Built by automake (tests/powercut/local.am) when configure finds libfuse3.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int	skip(const char *);

static int
skip(const char *what)
{
	const char	*v = getenv("VISITS_SYNC_SKIP");

	return v != NULL && strcmp(v, what) == 0;
}

int
fsync(int fd)
{
	static int	(*real)(int);
	struct stat	st;

	if (skip("dirsync") && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

int
fdatasync(int fd)
{
	static int	(*real)(int);

	if (skip("fdatasync"))
		return 0;
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}
