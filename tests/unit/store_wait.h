/*
 * store_wait.h: the store as handler.c asks it, for the unit tests that
 * need a visit, the count or readiness: store_ask(), and when the store
 * does not know at once, the waiter's done() called on the store thread;
 * here the test thread waits for it on a condition variable.  Include it
 * in one file per test program.
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
	int			 failed;
	char			 err[512];
};

static void
waited(struct store_waiter *w, const char *err)
{
	struct wait	*wt = (struct wait *)w;

	pthread_mutex_lock(&wt->lock);
	snprintf(wt->err, sizeof(wt->err), "%s", err != NULL ? err : "");
	wt->finished = 1;
	wt->failed = err != NULL;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

/* What the store says to `ask`: 0 and the count, or -1 and why. */
static int
ask_wait(struct store *s, enum store_ask ask, uint64_t *count,
    char *errbuf, size_t errlen)
{
	struct wait	wt;
	int		rc;

	memset(&wt, 0, sizeof(wt));
	wt.w.done = waited;
	pthread_mutex_init(&wt.lock, NULL);
	pthread_cond_init(&wt.cond, NULL);
	if (store_ask(s, ask, &wt.w) == 1) {
		pthread_mutex_lock(&wt.lock);
		while (!wt.finished)
			pthread_cond_wait(&wt.cond, &wt.lock);
		pthread_mutex_unlock(&wt.lock);
	}
	rc = wt.failed ? -1 : 0;
	if (rc == -1)
		snprintf(errbuf, errlen, "%s", wt.err);
	else if (count != NULL)
		*count = wt.w.count;
	pthread_mutex_destroy(&wt.lock);
	pthread_cond_destroy(&wt.cond);
	return rc;
}

/*
 * The three questions that routes ask (route.c); inline, so that a test
 * that asks only some of them builds without warnings.
 */
static inline int
visit_wait(struct store *s, uint64_t *count, char *errbuf, size_t errlen)
{
	return ask_wait(s, STORE_VISIT, count, errbuf, errlen);
}

static inline int
count_wait(struct store *s, uint64_t *count, char *errbuf, size_t errlen)
{
	return ask_wait(s, STORE_COUNT, count, errbuf, errlen);
}

static inline int
ready_wait(struct store *s, char *errbuf, size_t errlen)
{
	return ask_wait(s, STORE_READY, NULL, errbuf, errlen);
}

#endif
