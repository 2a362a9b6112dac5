/*
 * metrics.c: Prometheus text format, version 0.0.4.
 */
#include "config.h"

#include <sys/resource.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

static int	status_index(int);
static long	open_fds(void);
static long	resident_bytes(void);
static void	put_help(struct buf *, const char *name, const char *type,
		    const char *help);
static void	put_metric(struct buf *, const char *name, const char *type,
		    const char *help, unsigned long long);

static const int statuses[METRICS_STATUS_COUNT - 1] = {
	200, 404, 405, 500, 503
};

/* Upper bounds in nanoseconds; printed in seconds. */
static const uint64_t bucket_ns[METRICS_BUCKET_COUNT] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000, 25000000, 50000000, 100000000, 1000000000
};

void
metrics_init(struct metrics *m)
{
	struct timespec	now;

	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + now.tv_nsec / 1e9;
}

static int
status_index(int status)
{
	int	i;

	for (i = 0; i < METRICS_STATUS_COUNT - 1; i++)
		if (statuses[i] == status)
			return i;
	return METRICS_STATUS_COUNT - 1;
}

void
metrics_observe(struct metrics *m, const struct route *route, int status,
    uint64_t duration_ns)
{
	size_t	r = route_index(route);
	int	b;

	__atomic_fetch_add(&m->requests[r][status_index(status)], 1,
	    __ATOMIC_RELAXED);
	for (b = 0; b < METRICS_BUCKET_COUNT; b++)
		if (duration_ns <= bucket_ns[b])
			break;
	__atomic_fetch_add(&m->buckets[r][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->duration_ns[r], duration_ns, __ATOMIC_RELAXED);
}

static long
open_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory stream's own descriptor */
}

static long
resident_bytes(void)
{
	FILE	*f;
	long	 size, resident;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* The two comment lines that say what a metric is. */
static void
put_help(struct buf *out, const char *name, const char *type,
    const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A metric with one sample and no labels. */
static void
put_metric(struct buf *out, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	put_help(out, name, type, help);
	buf_printf(out, "%s %llu\n", name, v);
}

void
metrics_render(const struct metrics *m, const struct store_stats *st,
    struct buf *out)
{
	struct rlimit	 rl;
	const char	*label;
	char		 code[8], le[16];
	uint64_t	 v, cumulative;
	size_t		 r;
	long		 n;
	int		 s, b;

	put_metric(out, "visits_total", "counter",
	    "Visits recorded in the counter file.", st->count);
	put_metric(out, "visits_store_ready", "gauge",
	    "1 when the counter file is loaded and writable.", st->ready != 0);
	put_metric(out, "visits_store_commits_total", "counter",
	    "Updates of the counter file (one update can record many visits).",
	    st->commits);
	put_metric(out, "visits_store_committed_visits_total", "counter",
	    "Visits recorded by those updates.", st->commit_visits);
	put_metric(out, "visits_store_errors_total", "counter",
	    "Failed loads and updates of the counter file.", st->errors);

	put_help(out, "visits_http_requests_total", "counter",
	    "Requests answered, by route and status code.");
	for (r = 0; r < ROUTE_COUNT; r++) {
		label = route_label(route_at(r));
		for (s = 0; s < METRICS_STATUS_COUNT; s++) {
			v = __atomic_load_n(&m->requests[r][s],
			    __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			if (s < METRICS_STATUS_COUNT - 1)
				snprintf(code, sizeof(code), "%d",
				    statuses[s]);
			else
				snprintf(code, sizeof(code), "other");
			buf_printf(out, "visits_http_requests_total"
			    "{route=\"%s\",code=\"%s\"} %llu\n", label, code,
			    (unsigned long long)v);
		}
	}

	put_help(out, "visits_http_request_duration_seconds", "histogram",
	    "Time from a request's parameters to the end of its answer.");
	for (r = 0; r < ROUTE_COUNT; r++) {
		label = route_label(route_at(r));
		cumulative = 0;
		for (b = 0; b <= METRICS_BUCKET_COUNT; b++) {
			cumulative += __atomic_load_n(&m->buckets[r][b],
			    __ATOMIC_RELAXED);
			if (b < METRICS_BUCKET_COUNT)
				snprintf(le, sizeof(le), "%g",
				    bucket_ns[b] / 1e9);
			else
				snprintf(le, sizeof(le), "+Inf");
			buf_printf(out, "visits_http_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%s\"} %llu\n", label, le,
			    (unsigned long long)cumulative);
		}
		buf_printf(out, "visits_http_request_duration_seconds_sum"
		    "{route=\"%s\"} %.9f\n", label,
		    __atomic_load_n(&m->duration_ns[r], __ATOMIC_RELAXED) /
		    1e9);
		buf_printf(out, "visits_http_request_duration_seconds_count"
		    "{route=\"%s\"} %llu\n", label,
		    (unsigned long long)cumulative);
	}

	put_help(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch.");
	buf_printf(out, "process_start_time_seconds %.3f\n", m->start_time);
	if ((n = resident_bytes()) >= 0)
		put_metric(out, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.", (unsigned long long)n);
	if ((n = open_fds()) >= 0)
		put_metric(out, "process_open_fds", "gauge",
		    "Number of open file descriptors.", (unsigned long long)n);
	/* The soft limit: what open() and accept() are refused beyond. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY)
		put_metric(out, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (unsigned long long)rl.rlim_cur);
	put_help(out, "visits_build_info", "gauge", "Version of visits-fcgi.");
	buf_printf(out, "visits_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
}
