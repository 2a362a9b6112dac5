/*
 * store.h: the visit counter file, DIR/visits.
 *
 * The file holds the count in ASCII decimal and a newline.  Every update
 * writes DIR/visits.tmp and exchanges it with DIR/visits (or renames it
 * there), so a reader or a crash sees the old or the new complete number,
 * never a torn one; visits.tmp then holds the previous file, which the
 * next update rewrites only when no one has it open (a write lease).  With
 * the durable setting the new file and the directory are synced before a
 * visit is acknowledged.  Concurrent visits share one update (group commit):
 * a store thread takes every visit queued so far, writes once, and calls
 * each visit's completion with its own number; visits that arrive during
 * the write go into the next one.  Requests wait for their visit without
 * holding a thread.
 *
 * A file that is not a valid count is never overwritten: the store refuses
 * to count, says why, and tries again on the next request, so fixing the
 * file (or the disk) brings it back without a restart.
 */
#ifndef VISITS_STORE_H
#define VISITS_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_FILE_NAME		"visits"
#define STORE_TEMP_NAME		"visits.tmp"
#define STORE_MAX_FILE_SIZE	32	/* 20 digits and a newline fit */

struct store;

/* What a request needs from the store before it can be answered. */
enum store_ask {
	STORE_NOTHING,
	STORE_VISIT,	/* one more visit, on disk */
	STORE_COUNT,	/* the count in the file */
	STORE_READY	/* proof that the file can be written */
};

/*
 * A request waiting for the file: a visit (increment 1) or a check that
 * reads or writes the count again (increment 0).  done() runs on the
 * store thread once the file says so (err NULL) or failed (err says
 * why); `err` is valid only during the call.
 */
struct store_waiter {
	unsigned		 increment;
	uint64_t		 count;
	void			(*done)(struct store_waiter *, const char *err);
	struct store_waiter	*next;
};

struct store_stats {
	uint64_t	count;		/* last count on disk */
	int		ready;		/* loaded and last write worked */
	uint64_t	commits;	/* successful file updates */
	uint64_t	commit_visits;	/* visits those updates recorded */
	uint64_t	errors;		/* failed loads and updates */
	int		count_known;	/* count is the file's */
};

enum store_open_result {
	STORE_OPEN_OK,		/* possibly not ready yet: submit a check */
	STORE_OPEN_LOCKED	/* another process owns the directory */
};

struct store	*store_open(const char *dir, int durable,
		    enum store_open_result *, char *errbuf, size_t errlen);
int		 store_ask(struct store *, enum store_ask,
		    struct store_waiter *);
void		 store_stats(struct store *, struct store_stats *);
int		 store_close(struct store *);

int		 store_parse_count(const char *, size_t, uint64_t *,
		    char *why, size_t whylen);

#endif
