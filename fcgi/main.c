/*
 * main.c: visits-fcgi, the Moscow time and a persistent visit counter over
 * FastCGI.  Reads the settings, opens the counter store and the listening
 * socket, starts the event loop, and waits for SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "cluster.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "respond.h"
#include "server.h"
#include "store.h"

static void	raise_open_files(void);

/*
 * Every FastCGI connection is a descriptor, and nginx keeps one open for
 * every request its workers can serve at once (nginx.conf: upstream
 * keepalive).  A container may start with a soft limit of 1024 and a far
 * higher hard one: take the hard one, as nginx does with
 * worker_rlimit_nofile.  Started with 1024, 1,500 clients through nginx
 * got 78-84 % errors (doc/PERFORMANCE.md).  Nothing here uses select(),
 * and libfcgi closes with poll(), so descriptors above 1023 are safe.
 */
static void
raise_open_files(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct options		 opt;
	struct listener		 listener;
	struct metrics		 metrics;
	struct app		 app;
	struct store		*store;
	struct server		*server;
	enum store_open_result	 open_result;
	sigset_t		 stop_signals;
	char			 err[512], hostname[HOST_NAME_MAX + 1];
	int			 sig, rc = 0;

	switch (options_parse(&opt, argc, argv, err, sizeof(err))) {
	case OPTIONS_EXIT:
		return 0;
	case OPTIONS_ERROR:
		fprintf(stderr, "visits-fcgi: %s\n", err);
		return 2;
	case OPTIONS_OK:
		break;
	}
	if (opt.check_path != NULL) {
		if (check_socket(opt.check_path, err, sizeof(err)) == -1) {
			fprintf(stderr, "visits-fcgi: check: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (clock_set_zone(opt.timezone, err, sizeof(err)) == -1)
		fatal(2, "bad_timezone", "%s", err);
	if (gethostname(hostname, sizeof(hostname)) == -1)
		snprintf(hostname, sizeof(hostname), "unknown");
	hostname[sizeof(hostname) - 1] = '\0';

	/*
	 * One malloc arena: libfcgi allocates a little per request, and one
	 * arena per thread would multiply the resident memory for nothing.
	 */
	mallopt(M_ARENA_MAX, 1);
	raise_open_files();

	/*
	 * SIGTERM and SIGINT are taken by sigwait() below, in this thread
	 * only: blocked before any thread starts, so every thread inherits
	 * the mask.  A write to a closed connection must not kill us.
	 */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The store takes a write lease on its temp file (store.c); if anyone
	 * opens that file meanwhile, the kernel tells us with SIGIO, whose
	 * default action would end the process.  The lease is held for one
	 * write and sync only, so there is nothing to do but go on.
	 */
	signal(SIGIO, SIG_IGN);

	if (listener_inherit(&listener, 0, err, sizeof(err)) == -1)
		fatal(2, "no_socket", "%s", err);

	store = store_open(opt.data_dir, opt.durable, &open_result, err,
	    sizeof(err));
	if (store == NULL) {
		listener_close(&listener);
		if (open_result == STORE_OPEN_LOCKED)
			fatal(1, "data_dir_locked", "%s", err);
		fatal(1, "out_of_memory", "opening the store: out of memory");
	}

	metrics_init(&metrics);
	app.store = store;
	app.metrics = &metrics;
	app.hostname = hostname;
	app.timezone = opt.timezone;
	app.cluster = NULL;
	if (opt.peers != NULL) {
		app.cluster = cluster_start(opt.peers, VISITS_HTTP_PORT,
		    hostname, err, sizeof(err));
		if (app.cluster == NULL) {
			store_close(store);
			listener_close(&listener);
			fatal(1, "start_failed", "%s", err);
		}
	}

	server = server_start(&app, listener.fd, opt.io_timeout, err,
	    sizeof(err));
	if (server == NULL) {
		cluster_stop(app.cluster);
		store_close(store);
		listener_close(&listener);
		fatal(1, "start_failed", "%s", err);
	}
	log_info("started", "visits-fcgi %s serving %s, data in %s, time "
	    "zone %s, peers %s", PACKAGE_VERSION,
	    listener.path[0] != '\0' ? listener.path : "the socket on fd 0",
	    opt.data_dir, opt.timezone,
	    opt.peers != NULL ? opt.peers : "none");

	do {
		sig = sigwaitinfo(&stop_signals, NULL);
	} while (sig == -1 && errno == EINTR);
	log_info("stopping", "signal %d: finishing the requests in flight",
	    sig);

	/* Stop accepting first, so nginx gets a clean refusal, not a hang. */
	server_stop(server);
	if (server_wait(server) == -1)
		rc = 1;
	/* Answers the /cluster requests still waiting for a view. */
	cluster_stop(app.cluster);
	/* Answers the visits still waiting for the disk, syncs, stops. */
	if (store_close(store) == -1)
		rc = 1;
	server_free(server);
	listener_close(&listener);
	log_info("stopped", "exit %d", rc);
	return rc;
}
