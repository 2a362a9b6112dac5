/*
 * store_wait.h: the store as handler.c uses it, for the unit tests that
 * need a visit, the count or readiness: a waiter submitted to the queue,
 * its done() called on the store thread; here the test thread waits for
 * it on a condition variable.  Include it in one file per test program.
 */
#ifndef VISITS_STORE_WAIT_H
#define VISITS_STORE_WAIT_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

struct wait {
	struct store_waiter	 w;	/* first: done() gets it back */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 finished;
	char			 err[512];
};

static void
waited(struct store_waiter *w, const char *err)
{
	struct wait	*wt = (struct wait *)w;

	pthread_mutex_lock(&wt->lock);
	snprintf(wt->err, sizeof(wt->err), "%s", err != NULL ? err : "");
	wt->finished = 1;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

/* A visit (1) or a check (0): 0 and the count, or -1 and why. */
static int
submit_wait(struct store *s, unsigned increment, uint64_t *count,
    char *errbuf, size_t errlen)
{
	struct wait	wt;
	int		rc;

	memset(&wt, 0, sizeof(wt));
	wt.w.increment = increment;
	wt.w.done = waited;
	pthread_mutex_init(&wt.lock, NULL);
	pthread_cond_init(&wt.cond, NULL);
	store_submit(s, &wt.w);
	pthread_mutex_lock(&wt.lock);
	while (!wt.finished)
		pthread_cond_wait(&wt.cond, &wt.lock);
	pthread_mutex_unlock(&wt.lock);
	rc = wt.w.failed ? -1 : 0;
	if (rc == -1)
		snprintf(errbuf, errlen, "%s", wt.err);
	else if (count != NULL)
		*count = wt.w.count;
	pthread_mutex_destroy(&wt.lock);
	pthread_cond_destroy(&wt.cond);
	return rc;
}

/* GET /time: a visit. */
static int
visit_wait(struct store *s, uint64_t *count, char *errbuf, size_t errlen)
{
	return submit_wait(s, 1, count, errbuf, errlen);
}

/* GET /visits: the count the store knows, else a check reads it. */
static int
count_wait(struct store *s, uint64_t *count, char *errbuf, size_t errlen)
{
	if (store_count_if_known(s, count))
		return 0;
	return submit_wait(s, 0, count, errbuf, errlen);
}

/* GET /readyz: a write less than a second ago, else a check. */
static int
ready_wait(struct store *s, char *errbuf, size_t errlen)
{
	if (store_ready_fresh(s))
		return 0;
	return submit_wait(s, 0, NULL, errbuf, errlen);
}

#endif
