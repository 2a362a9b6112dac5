/*
 * cluster.h: the view of every pod's count, for GET /cluster.
 *
 * A view is made on demand: a request that finds no view, or one older
 * than CLUSTER_REFRESH_MS, waits for the next one (cluster_ask), off the
 * event loop and holding no thread; a request that finds a fresher one
 * is answered from it at once.  The view's thread then finds the pods
 * through the headless Service's DNS name (its A/AAAA records), asks
 * each one's nginx for /visits (on VISITS_HTTP_PORT: nginx.conf's own
 * port, read by configure), all at once, with one deadline, publishes
 * the view and answers every request that waited for it.  One refresh at
 * a time, and none while the last view is fresh: a flood of /cluster
 * requests never multiplies the requests to the other pods.
 *
 * The lookup runs on a thread of its own, because the resolver's
 * timeouts are resolv.conf's (seconds each, times the search domains):
 * a request gives it CLUSTER_LOOKUP_WAIT_MS, then is answered from the
 * last view with the reason it is not a new one.  So a request waits at
 * most the lookup's wait and the pods' deadline: a second.
 *
 * This pod is never asked over the network: its own addresses are
 * skipped and its count comes from its own store (respond.c).
 */
#ifndef VISITS_CLUSTER_H
#define VISITS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_REFRESH_MS	1000	/* a view older is made again */
#define CLUSTER_LOOKUP_WAIT_MS	500	/* for the DNS name, by each request */
#define CLUSTER_DEADLINE_MS	500	/* for every pod's answer */
#define CLUSTER_MAX_PODS	32
#define CLUSTER_NAME_LEN	64
#define CLUSTER_ERROR_LEN	96

struct cluster;

struct cluster_pod {
	char		name[CLUSTER_NAME_LEN];
	char		addr[CLUSTER_NAME_LEN];	/* numeric; "" for self */
	int		self;		/* this pod: count from the store */
	int		ok;		/* answered: visits is its count */
	uint64_t	visits;
	char		error[CLUSTER_ERROR_LEN];
};

/* A view is copied whole, so that an answer needs no lock to read it. */
struct cluster_view {
	long long		 made_ns;	/* the pods asked: monotonic */
	char			 error[CLUSTER_ERROR_LEN]; /* DNS, or "" */
	unsigned		 n;		/* 0: no view yet */
	struct cluster_pod	 pods[CLUSTER_MAX_PODS];
};

/*
 * A request waiting for a view.  done() runs on the view's thread once
 * a new view is published (err NULL) or none came in time (err says why
 * the current one, if any, is not new); `err` is valid only during the
 * call.
 */
struct cluster_waiter {
	long long		 since_ns;
	void			(*done)(struct cluster_waiter *,
				    const char *err);
	struct cluster_waiter	*next;
};

struct cluster	*cluster_start(const char *service, unsigned port,
		    const char *hostname, char *errbuf, size_t errlen);
int		 cluster_ask(struct cluster *, struct cluster_waiter *);
void		 cluster_copy_view(struct cluster *, struct cluster_view *);
void		 cluster_stop(struct cluster *);

const char	*cluster_parse_answer(const char *, size_t, uint64_t *visits,
		    char *name, size_t namelen);

#endif
