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

void
metrics_render(const struct metrics *m, const struct store_stats *st,
    struct buf *out)
{
	struct rlimit	 rl;
	const char	*label;
	uint64_t	 v, cumulative;
	size_t		 r;
	long		 n;
	int		 s, b;

	buf_puts(out,
	    "# HELP visits_total Visits recorded in the counter file.\n"
	    "# TYPE visits_total counter\n");
	buf_printf(out, "visits_total %llu\n", (unsigned long long)st->count);
	buf_puts(out,
	    "# HELP visits_store_ready 1 when the counter file is loaded "
	    "and writable.\n"
	    "# TYPE visits_store_ready gauge\n");
	buf_printf(out, "visits_store_ready %d\n", st->ready ? 1 : 0);
	buf_puts(out,
	    "# HELP visits_store_commits_total Updates of the counter file "
	    "(one update can record many visits).\n"
	    "# TYPE visits_store_commits_total counter\n");
	buf_printf(out, "visits_store_commits_total %llu\n",
	    (unsigned long long)st->commits);
	buf_puts(out,
	    "# HELP visits_store_committed_visits_total Visits recorded by "
	    "those updates.\n"
	    "# TYPE visits_store_committed_visits_total counter\n");
	buf_printf(out, "visits_store_committed_visits_total %llu\n",
	    (unsigned long long)st->commit_visits);
	buf_puts(out,
	    "# HELP visits_store_errors_total Failed loads and updates of "
	    "the counter file.\n"
	    "# TYPE visits_store_errors_total counter\n");
	buf_printf(out, "visits_store_errors_total %llu\n",
	    (unsigned long long)st->errors);

	buf_puts(out,
	    "# HELP visits_http_requests_total Requests answered, by route "
	    "and status code.\n"
	    "# TYPE visits_http_requests_total counter\n");
	for (r = 0; r < ROUTE_COUNT; r++) {
		label = route_label(route_at(r));
		for (s = 0; s < METRICS_STATUS_COUNT; s++) {
			v = __atomic_load_n(&m->requests[r][s],
			    __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			if (s < METRICS_STATUS_COUNT - 1)
				buf_printf(out, "visits_http_requests_total"
				    "{route=\"%s\",code=\"%d\"} %llu\n", label,
				    statuses[s], (unsigned long long)v);
			else
				buf_printf(out, "visits_http_requests_total"
				    "{route=\"%s\",code=\"other\"} %llu\n",
				    label, (unsigned long long)v);
		}
	}

	buf_puts(out,
	    "# HELP visits_http_request_duration_seconds Time from a "
	    "request's parameters to the end of its answer.\n"
	    "# TYPE visits_http_request_duration_seconds histogram\n");
	for (r = 0; r < ROUTE_COUNT; r++) {
		label = route_label(route_at(r));
		cumulative = 0;
		for (b = 0; b <= METRICS_BUCKET_COUNT; b++) {
			cumulative += __atomic_load_n(&m->buckets[r][b],
			    __ATOMIC_RELAXED);
			if (b < METRICS_BUCKET_COUNT)
				buf_printf(out, "visits_http_request_duration_"
				    "seconds_bucket{route=\"%s\",le=\"%g\"} "
				    "%llu\n", label, bucket_ns[b] / 1e9,
				    (unsigned long long)cumulative);
			else
				buf_printf(out, "visits_http_request_duration_"
				    "seconds_bucket{route=\"%s\",le=\"+Inf\"} "
				    "%llu\n", label,
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

	buf_puts(out,
	    "# HELP process_start_time_seconds Start time of the process "
	    "since the Unix epoch.\n"
	    "# TYPE process_start_time_seconds gauge\n");
	buf_printf(out, "process_start_time_seconds %.3f\n", m->start_time);
	if ((n = resident_bytes()) >= 0) {
		buf_puts(out,
		    "# HELP process_resident_memory_bytes Resident memory "
		    "size in bytes.\n"
		    "# TYPE process_resident_memory_bytes gauge\n");
		buf_printf(out, "process_resident_memory_bytes %ld\n", n);
	}
	if ((n = open_fds()) >= 0) {
		buf_puts(out,
		    "# HELP process_open_fds Number of open file "
		    "descriptors.\n"
		    "# TYPE process_open_fds gauge\n");
		buf_printf(out, "process_open_fds %ld\n", n);
	}
	/* The soft limit: what open() and accept() are refused beyond. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		buf_puts(out,
		    "# HELP process_max_fds Maximum number of open file "
		    "descriptors.\n"
		    "# TYPE process_max_fds gauge\n");
		buf_printf(out, "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	}
	buf_puts(out,
	    "# HELP visits_build_info Version of visits-fcgi.\n"
	    "# TYPE visits_build_info gauge\n");
	buf_printf(out, "visits_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
}
