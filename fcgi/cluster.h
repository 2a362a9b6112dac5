/*
 * cluster.h: the view of every pod's count, for GET /cluster.
 *
 * One background thread finds the pods through the headless Service's
 * DNS name (its A/AAAA records) and asks each one's nginx for /visits
 * (on VISITS_HTTP_PORT: nginx.conf's own port, read by configure), all
 * at once, with one deadline.  It refreshes at most once a second,
 * and only while someone asked in the last few seconds; requests only
 * take the last published view, which is never changed once
 * published, so they never wait for the network and a flood of /cluster
 * requests never multiplies the requests to the other pods.
 *
 * This pod is never asked over the network: its own addresses are
 * skipped and its count comes from its own store (respond.c).
 */
#ifndef VISITS_CLUSTER_H
#define VISITS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

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

struct cluster_view {
	unsigned		 refs;
	char			 error[CLUSTER_ERROR_LEN]; /* DNS, or "" */
	unsigned		 n;
	struct cluster_pod	 pods[CLUSTER_MAX_PODS];
};

struct cluster	*cluster_start(const char *service, unsigned port,
		    const char *hostname, char *errbuf, size_t errlen);
const struct cluster_view *cluster_acquire(struct cluster *);
void		 cluster_release(struct cluster *,
		    const struct cluster_view *);
void		 cluster_stop(struct cluster *);

const char	*cluster_parse_answer(const char *, size_t, uint64_t *visits,
		    char *name, size_t namelen);

#endif
