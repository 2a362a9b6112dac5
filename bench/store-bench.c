/*
 * store-bench: what one update of the counter file costs, per way of
 * writing it, on the filesystem of a directory.
 *
 *   store-bench DIR [SECONDS [ROUNDS]]
 *
 * Ways (each writes the next count as ASCII decimal and a newline):
 *   inplace         pwrite at offset 0 of the open file + fdatasync
 *   exchange        rewrite the temp file that the previous update left
 *                   (under a write lease) + fdatasync + renameat2
 *                   RENAME_EXCHANGE with the file + fsync of the
 *                   directory: what visits-fcgi does with --durable
 *   exchange-nodir  the same without the directory's fsync: what
 *                   visits-fcgi does with --no-durable (the temp file's
 *                   data is still synced before the exchange, so that a
 *                   power cut cannot leave an empty counter file)
 *   rename          a new temp file + write + fdatasync + rename over the
 *                   file + fsync of the directory: what visits-fcgi does
 *                   when someone holds the old file open (and what it
 *                   did before it exchanged)
 *   rename-nofile   the same without the temp file's fdatasync
 *   rename-nosync   a new temp file + write + rename, no sync
 *
 * The ways take turns (round 1: each for SECONDS, round 2: each again...),
 * so that the noise of a shared machine falls on all of them.  Prints per
 * way the mean, median and p99 microseconds per update over all rounds,
 * the updates per second, the process CPU time per update (on a virtual
 * machine every disk write costs CPU too), and the mean's ratio to
 * "rename".
 *
 * Built by automake (bench/local.am), run by bench/run.sh.
 */

#define _GNU_SOURCE		/* renameat2, F_SETLEASE */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_NAME	"visits"
#define TEMP_NAME	".visits.tmp"
#define MAX_SAMPLES	(1 << 20)

enum way { INPLACE, EXCHANGE, EXCHANGE_NODIR, RENAME, RENAME_NOFILE,
    RENAME_NOSYNC, NWAYS };

struct way_stats {
	const char	*name;
	double		*samples;	/* microseconds per update */
	size_t		 n;		/* samples kept */
	size_t		 updates;	/* all of them */
	double		 total;
	double		 cpu;		/* process CPU microseconds */
};

static void	 fatal(const char *, const char *);
static double	 now_us(void);
static double	 cpu_us(void);
static int	 format_count(char *, size_t, uint64_t);
static void	 update_inplace(int, uint64_t);
static void	 update_exchange(int, uint64_t, int);
static void	 update_rename(int, uint64_t, int, int);
static void	 run_way(struct way_stats *, enum way, int, double,
		    uint64_t *);
static int	 cmp_double(const void *, const void *);
static double	 percentile(double *, size_t, double);

static const char *dir;

static void
fatal(const char *what, const char *path)
{
	fprintf(stderr, "store-bench: %s %s/%s: %s\n", what, dir, path,
	    strerror(errno));
	exit(1);
}

static double
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
format_count(char *buf, size_t len, uint64_t value)
{
	return snprintf(buf, len, "%llu\n", (unsigned long long)value);
}

static void
update_inplace(int fd, uint64_t value)
{
	char	text[24];
	int	len;

	len = format_count(text, sizeof(text), value);
	if (pwrite(fd, text, (size_t)len, 0) != len)
		fatal("pwrite", FILE_NAME);
	if (fdatasync(fd) == -1)
		fatal("fdatasync", FILE_NAME);
}

static void
update_exchange(int dirfd, uint64_t value, int sync_dir)
{
	struct stat	st;
	char		text[24];
	int		fd, len;

	len = format_count(text, sizeof(text), value);
	fd = openat(dirfd, TEMP_NAME, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd == -1)
		fatal("open", TEMP_NAME);
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == -1)
		fatal("write lease on", TEMP_NAME);
	if (fstat(fd, &st) == -1)
		fatal("fstat", TEMP_NAME);
	if (pwrite(fd, text, (size_t)len, 0) != len)
		fatal("pwrite", TEMP_NAME);
	if (st.st_size > len && ftruncate(fd, len) == -1)
		fatal("ftruncate", TEMP_NAME);
	if (fdatasync(fd) == -1)
		fatal("fdatasync", TEMP_NAME);
	if (fcntl(fd, F_SETLEASE, F_UNLCK) == -1)
		fatal("release lease on", TEMP_NAME);
	if (renameat2(dirfd, TEMP_NAME, dirfd, FILE_NAME,
	    RENAME_EXCHANGE) == -1)
		fatal("exchange with", FILE_NAME);
	if (sync_dir && fsync(dirfd) == -1)
		fatal("fsync", ".");
	if (close(fd) == -1)
		fatal("close", TEMP_NAME);
}

static void
update_rename(int dirfd, uint64_t value, int sync_file, int sync_dir)
{
	char	text[24];
	int	fd, len;

	len = format_count(text, sizeof(text), value);
	fd = openat(dirfd, TEMP_NAME,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		fatal("create", TEMP_NAME);
	if (write(fd, text, (size_t)len) != len)
		fatal("write", TEMP_NAME);
	if (sync_file && fdatasync(fd) == -1)
		fatal("fdatasync", TEMP_NAME);
	if (renameat(dirfd, TEMP_NAME, dirfd, FILE_NAME) == -1)
		fatal("rename over", FILE_NAME);
	if (sync_dir && fsync(dirfd) == -1)
		fatal("fsync", ".");
	if (close(fd) == -1)
		fatal("close", TEMP_NAME);
}

static void
run_way(struct way_stats *st, enum way w, int dirfd, double seconds,
    uint64_t *count)
{
	double	start, t0, t1, c0;
	int	fd = -1;

	/* The exchange needs a file to exchange with. */
	if (w == EXCHANGE || w == EXCHANGE_NODIR)
		update_rename(dirfd, ++*count, 0, 0);
	if (w == INPLACE) {
		fd = openat(dirfd, FILE_NAME, O_RDWR | O_CREAT | O_CLOEXEC,
		    0644);
		if (fd == -1)
			fatal("open", FILE_NAME);
	}
	start = now_us();
	c0 = cpu_us();
	do {
		(*count)++;
		t0 = now_us();
		switch (w) {
		case INPLACE:
			update_inplace(fd, *count);
			break;
		case EXCHANGE:
			update_exchange(dirfd, *count, 1);
			break;
		case EXCHANGE_NODIR:
			update_exchange(dirfd, *count, 0);
			break;
		case RENAME:
			update_rename(dirfd, *count, 1, 1);
			break;
		case RENAME_NOFILE:
			update_rename(dirfd, *count, 0, 1);
			break;
		case RENAME_NOSYNC:
			update_rename(dirfd, *count, 0, 0);
			break;
		default:
			abort();
		}
		t1 = now_us();
		if (st->n < MAX_SAMPLES)
			st->samples[st->n++] = t1 - t0;
		st->updates++;
		st->total += t1 - t0;
	} while (t1 - start < seconds * 1e6);
	st->cpu += cpu_us() - c0;
	if (fd != -1 && close(fd) == -1)
		fatal("close", FILE_NAME);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
percentile(double *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i];
}

int
main(int argc, char *argv[])
{
	struct way_stats	 st[NWAYS] = {
		{ "inplace (pwrite + fdatasync)", NULL, 0, 0, 0, 0 },
		{ "exchange (rewrite the previous file + fdatasync + "
		    "RENAME_EXCHANGE + dir fsync: visits-fcgi)",
		    NULL, 0, 0, 0, 0 },
		{ "exchange, no dir fsync (--no-durable)", NULL, 0, 0, 0, 0 },
		{ "rename (new temp + fdatasync + rename + dir fsync)",
		    NULL, 0, 0, 0, 0 },
		{ "rename, no file fdatasync (dir fsync only)",
		    NULL, 0, 0, 0, 0 },
		{ "rename, no sync", NULL, 0, 0, 0, 0 },
	};
	double			 seconds = 1, ref, mean;
	uint64_t		 count = 999999990;	/* crosses a digit */
	char			*end;
	int			 dirfd, rounds = 3, r, w;
	size_t			 n;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: store-bench DIR [SECONDS [ROUNDS]]\n");
		return 2;
	}
	dir = argv[1];
	if (argc > 2) {
		seconds = strtod(argv[2], &end);
		if (*end != '\0' || !(seconds > 0 && seconds <= 60)) {
			fprintf(stderr, "store-bench: SECONDS: 0 < s <= 60\n");
			return 2;
		}
	}
	if (argc > 3) {
		rounds = (int)strtol(argv[3], &end, 10);
		if (*end != '\0' || rounds < 1 || rounds > 100) {
			fprintf(stderr, "store-bench: ROUNDS: 1..100\n");
			return 2;
		}
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1)
		fatal("open", ".");
	for (w = 0; w < NWAYS; w++) {
		st[w].samples = calloc(MAX_SAMPLES, sizeof(double));
		if (st[w].samples == NULL) {
			fprintf(stderr, "store-bench: out of memory\n");
			return 1;
		}
	}
	for (r = 0; r < rounds; r++)
		for (w = 0; w < NWAYS; w++)
			run_way(&st[w], (enum way)w, dirfd, seconds, &count);
	unlinkat(dirfd, FILE_NAME, 0);
	unlinkat(dirfd, TEMP_NAME, 0);

	ref = st[RENAME].updates ?
	    st[RENAME].total / (double)st[RENAME].updates : 0;
	printf("| way of updating the counter file | updates | mean µs | "
	    "median µs | p99 µs | updates/s | CPU µs | mean / rename |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (w = 0; w < NWAYS; w++) {
		n = st[w].n;
		mean = st[w].updates ?
		    st[w].total / (double)st[w].updates : 0;
		printf("| %s | %zu | %.1f | %.1f | %.1f | %.0f | %.1f | "
		    "%.2f |\n", st[w].name, st[w].updates, mean,
		    percentile(st[w].samples, n, 50),
		    percentile(st[w].samples, n, 99),
		    mean > 0 ? 1e6 / mean : 0,
		    st[w].updates ? st[w].cpu / (double)st[w].updates : 0,
		    ref > 0 ? mean / ref : 0);
		free(st[w].samples);
	}
	close(dirfd);
	return 0;
}
