/* The Prometheus exposition: names, labels, histogram arithmetic. */
#include "config.h"

#include <sys/resource.h>

#include "metrics.h"
#include "tap.h"

int
main(void)
{
	static char		out[65536];
	struct metrics		m;
	struct store_stats	st = { 42, 1, 10, 40, 2, 1 };
	struct buf		b;
	const struct route	*t = route_find("/time");

	metrics_init(&m);
	metrics_observe(&m, t, 200, 30000);		/* 30 us */
	metrics_observe(&m, t, 200, 700000);		/* 0.7 ms */
	metrics_observe(&m, t, 503, 3000000000ull);	/* 3 s */
	metrics_observe(&m, route_find("/nope"), 404, 1000);
	metrics_observe(&m, route_find("/"), 418, 1000);
	buf_init(&b, out, sizeof(out));
	metrics_render(&m, &st, &b);
	ok(!b.overflow, "fits (%zu bytes)", b.len);
	has_str(out, "# TYPE visits_total counter\nvisits_total 42\n", "count");
	has_str(out, "visits_store_ready 1\n", "ready");
	has_str(out, "visits_store_commits_total 10\n", "commits");
	has_str(out, "visits_store_errors_total 2\n", "errors");
	has_str(out, "visits_http_requests_total{route=\"/time\",code=\"200\"}"
	    " 2\n", "requests by route and code");
	has_str(out, "visits_http_requests_total{route=\"/time\",code=\"503\"}"
	    " 1\n", "503 counted apart");
	has_str(out, "visits_http_requests_total{route=\"other\",code=\"404\"}"
	    " 1\n", "unknown paths are one label");
	has_str(out, "visits_http_requests_total{route=\"/\",code=\"other\"}"
	    " 1\n", "unknown codes are one label");
	has_str(out, "visits_http_request_duration_seconds_bucket{route="
	    "\"/time\",le=\"5e-05\"} 1\n", "first bucket");
	has_str(out, "visits_http_request_duration_seconds_bucket{route="
	    "\"/time\",le=\"0.001\"} 2\n", "buckets are cumulative");
	has_str(out, "visits_http_request_duration_seconds_bucket{route="
	    "\"/time\",le=\"1\"} 2\n", "3 s is past the last bound");
	has_str(out, "visits_http_request_duration_seconds_bucket{route="
	    "\"/time\",le=\"+Inf\"} 3\n", "+Inf has all");
	has_str(out, "visits_http_request_duration_seconds_count{route="
	    "\"/time\"} 3\n", "count");
	has_str(out, "visits_http_request_duration_seconds_sum{route="
	    "\"/time\"} 3.000730000\n", "sum in seconds");
	has_str(out, "process_start_time_seconds ", "start time");
	has_str(out, "visits_build_info{version=\"" PACKAGE_VERSION "\"} 1\n",
	    "build info");
	has_str(out, "process_resident_memory_bytes ", "RSS");
	has_str(out, "process_open_fds ", "open fds");
	{
		struct rlimit	rl;
		char		want[64];

		getrlimit(RLIMIT_NOFILE, &rl);
		snprintf(want, sizeof(want), "\nprocess_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
		has_str(out, want, "the limit of open fds: the soft one");
	}
	ok(out[b.len - 1] == '\n', "ends with a newline");
	return tap_done();
}
