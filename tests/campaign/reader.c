/*
 * reader.c: read the counter file in a tight loop until SIGTERM, and count
 * what was seen.  A reader must only ever see a complete count ("digits and
 * a newline"); a missing file is allowed only before the first count.
 *
 *	reader FILE
 *
 * On SIGTERM/SIGINT prints one line:
 *	reads=N valid=N absent_before=N missing=N empty=N torn=N
 *	decreased=N first=V last=V
 * and exits 0 if no read was bad.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t	stop;

static void	on_signal(int);
static int	parse(const char *, ssize_t, uint64_t *);

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* 1 to 20 digits, then exactly one newline. */
static int
parse(const char *p, ssize_t n, uint64_t *out)
{
	uint64_t	v = 0;
	ssize_t		i;

	if (n < 2 || n > 21 || p[n - 1] != '\n')
		return -1;
	for (i = 0; i < n - 1; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction	sa;
	unsigned long long	reads = 0, valid = 0, absent = 0, missing = 0;
	unsigned long long	empty = 0, torn = 0, decreased = 0;
	uint64_t		v, first = 0, last = 0;
	char			buf[64];
	ssize_t			n;
	int			fd, seen = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: reader FILE\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		reads++;
		fd = open(argv[1], O_RDONLY);
		if (fd == -1) {
			if (errno == ENOENT && !seen)
				absent++;
			else
				missing++;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == 0) {
			empty++;
			continue;
		}
		if (parse(buf, n, &v) == -1) {
			if (torn < 5)
				fprintf(stderr, "reader: bad content "
				    "(%zd bytes): '%.*s'\n", n,
				    (int)(n > 0 ? n : 0), buf);
			torn++;
			continue;
		}
		if (!seen)
			first = v;
		else if (v < last)
			decreased++;
		seen = 1;
		last = v;
		valid++;
	}
	printf("reads=%llu valid=%llu absent_before=%llu missing=%llu "
	    "empty=%llu torn=%llu decreased=%llu first=%llu last=%llu\n",
	    reads, valid, absent, missing, empty, torn, decreased,
	    (unsigned long long)first, (unsigned long long)last);
	return missing + empty + torn + decreased ? 1 : 0;
}
