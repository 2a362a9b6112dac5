/*
 * store.c: the counter file, with atomic updates and group commit
 * (store.h says how).
 *
 * Only the store thread touches the disk and the fields marked "store
 * thread only"; the fields under `lock` are what other threads read.
 *
 * Before every update the store thread opens the data directory by path
 * (so a remount, a read-only bind mount or a replaced directory is seen
 * at once), checks that the directory is the one it locked, and that the
 * counter file is still the one it last wrote; a file changed by someone
 * else is read and checked again, and a file that is not a valid count
 * stops counting.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "store.h"

#define READY_CACHE_NS	NS_PER_S	/* /readyz writes at most 1/s */

struct store {
	pthread_mutex_t	 lock;
	pthread_cond_t	 work;		/* queue not empty, or stopping */
	pthread_t	 thread;
	int		 thread_started;
	int		 stopping;	/* under lock */
	struct store_waiter *queue;	/* under lock */
	struct store_waiter **queue_tail;
	struct store_stats stats;	/* under lock: store_stats() copies */
	long long	 last_write_ns;	/* under lock, CLOCK_MONOTONIC */
	char		 error[512];	/* under lock: why not ready */

	/* Store thread only. */
	char		*dir;
	char		*file_path;
	int		 durable;
	int		 lockfd;	/* the locked directory, or -1 */
	dev_t		 lock_dev;
	ino_t		 lock_ino;
	int		 loaded;	/* count matches the file on disk */
	int		 file_exists;	/* ...which is `file` */
	struct stat	 file;
};

static int		same_file(const struct stat *, const struct stat *);
static int		fail(char *, size_t, const char *, const char *,
			    int);
static int		dir_open(struct store *, int *, char *, size_t);
static int		dir_lock(struct store *, int, const struct stat *,
			    char *, size_t);
static int		file_load(struct store *, int, char *, size_t);
static int		loaded(struct store *, uint64_t);
static int		file_check(struct store *, int, char *, size_t);
static int		temp_open(struct store *, int, int *, off_t *, char *,
			    size_t);
static int		put_in_place(int, int);
static int		file_replace(struct store *, int, uint64_t, int, int *,
			    char *, size_t);
static int		file_write(struct store *, int, uint64_t, uint64_t,
			    char *, size_t);
static int		commit(struct store *, uint64_t, uint64_t *, char *,
			    size_t);
static void		*store_thread(void *);
static void		finish_batch(struct store *, struct store_waiter *,
			    uint64_t, int, uint64_t, const char *);

/* The same file, neither rewritten nor touched since `a` was taken. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* "what: doing: strerror", like spawn-fcgi's messages.  Returns -1. */
static int
fail(char *errbuf, size_t errlen, const char *what, const char *doing,
    int errnum)
{
	char	e[128];

	snprintf(errbuf, errlen, "%s: %s: %s", what, doing,
	    errstr(errnum, e, sizeof(e)));
	return -1;
}

/*
 * The count: 1 to 20 ASCII digits, no leading zero, at most
 * 18446744073709551615, then an optional newline and nothing else.
 */
int
store_parse_count(const char *text, size_t len, uint64_t *out, char *why,
    size_t whylen)
{
	uint64_t	v = 0;
	size_t		i, digits;

	if (len == 0) {
		snprintf(why, whylen, "the file is empty");
		return -1;
	}
	digits = len;
	if (text[len - 1] == '\n')
		digits = len - 1;
	if (digits == 0) {
		snprintf(why, whylen, "no digits before the newline");
		return -1;
	}
	for (i = 0; i < digits; i++) {
		unsigned char	c = (unsigned char)text[i];

		if (c < '0' || c > '9') {
			if (c == '-' && i == 0)
				snprintf(why, whylen, "negative number");
			else if (c >= 0x20 && c < 0x7f)
				snprintf(why, whylen, "unexpected '%c' at "
				    "byte %zu", c, i + 1);
			else
				snprintf(why, whylen, "unexpected byte 0x%02x "
				    "at byte %zu", c, i + 1);
			return -1;
		}
		if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10) {
			snprintf(why, whylen, "number larger than the "
			    "maximum count %llu",
			    (unsigned long long)UINT64_MAX);
			return -1;
		}
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (text[0] == '0' && digits > 1) {
		snprintf(why, whylen, "leading zero");
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Open the data directory by its path (-1 on error, -2 when another process
 * holds it).  The first time, and whenever the path now names another
 * directory, lock it (flock on the directory itself, which works on a
 * read-only mount too) so that two processes never write the same counter.
 */
static int
dir_open(struct store *s, int *dirfd, char *errbuf, size_t errlen)
{
	struct stat	st;
	int		fd;

	fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			snprintf(errbuf, errlen, "%s: data directory does "
			    "not exist", s->dir);
		else
			fail(errbuf, errlen, s->dir, "open data directory",
			    errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		fail(errbuf, errlen, s->dir, "stat", errno);
		close(fd);
		return -1;
	}
	if (s->lockfd == -1 || st.st_dev != s->lock_dev ||
	    st.st_ino != s->lock_ino) {
		int	rc = dir_lock(s, fd, &st, errbuf, errlen);

		if (rc != 0) {
			close(fd);
			return rc;
		}
	}
	*dirfd = fd;
	return 0;
}

static int
dir_lock(struct store *s, int fd, const struct stat *st, char *errbuf,
    size_t errlen)
{
	int	lockfd;

	lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (lockfd == -1)
		return fail(errbuf, errlen, s->dir, "dup", errno);
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		int	busy = errno == EWOULDBLOCK;

		if (busy)
			snprintf(errbuf, errlen, "%s: data directory is in "
			    "use by another visits-fcgi process (flock)",
			    s->dir);
		else
			fail(errbuf, errlen, s->dir, "flock", errno);
		close(lockfd);
		return busy ? -2 : -1;
	}
	if (s->lockfd != -1) {
		log_warn("store_directory_changed", "%s now names another "
		    "directory: reading its counter file", s->dir);
		close(s->lockfd);
	}
	s->lockfd = lockfd;
	s->lock_dev = st->st_dev;
	s->lock_ino = st->st_ino;
	s->loaded = 0;
	return 0;
}

/* Read and check the counter file; a missing file is a count of 0. */
static int
file_load(struct store *s, int dirfd, char *errbuf, size_t errlen)
{
	char		text[STORE_MAX_FILE_SIZE + 1], why[128];
	struct stat	st;
	uint64_t	v;
	ssize_t		n;
	int		fd;

	/* O_NONBLOCK: a FIFO put in the file's place must not hang us. */
	fd = openat(dirfd, STORE_FILE_NAME,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT) {
			s->file_exists = 0;
			return loaded(s, 0);
		}
		if (errno == ELOOP) {
			snprintf(errbuf, errlen, "%s: is a symbolic link, "
			    "not a counter file: refusing to count",
			    s->file_path);
			return -1;
		}
		return fail(errbuf, errlen, s->file_path, "open", errno);
	}
	if (fstat(fd, &st) == -1) {
		fail(errbuf, errlen, s->file_path, "stat", errno);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "%s: is %s, not a counter file: "
		    "refusing to count", s->file_path,
		    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > STORE_MAX_FILE_SIZE) {
		snprintf(errbuf, errlen, "%s: is %lld bytes long, a count is "
		    "at most 21: refusing to count (fix or remove the file)",
		    s->file_path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	n = pread(fd, text, sizeof(text), 0);
	if (n == -1) {
		fail(errbuf, errlen, s->file_path, "read", errno);
		close(fd);
		return -1;
	}
	close(fd);
	if (store_parse_count(text, (size_t)n, &v, why, sizeof(why)) == -1) {
		snprintf(errbuf, errlen, "%s: not a valid count (%s): "
		    "refusing to count (fix or remove the file)",
		    s->file_path, why);
		return -1;
	}
	s->file = st;
	s->file_exists = 1;
	return loaded(s, v);
}

/* The counter file says `count` (a missing one says 0). */
static int
loaded(struct store *s, uint64_t count)
{
	s->loaded = 1;
	pthread_mutex_lock(&s->lock);
	s->stats.count = count;
	s->stats.count_known = 1;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Is the file still the one we last wrote?  If not, read it again. */
static int
file_check(struct store *s, int dirfd, char *errbuf, size_t errlen)
{
	struct stat	st;
	uint64_t	before;
	int		was_loaded = s->loaded;

	if (was_loaded) {
		if (fstatat(dirfd, STORE_FILE_NAME, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			if (s->file_exists && same_file(&s->file, &st))
				return 0;
		} else if (errno == ENOENT && !s->file_exists)
			return 0;
		else if (errno != ENOENT)
			return fail(errbuf, errlen, s->file_path, "stat",
			    errno);
	}
	s->loaded = 0;
	pthread_mutex_lock(&s->lock);
	before = s->stats.count;
	s->stats.count_known = 0;
	pthread_mutex_unlock(&s->lock);
	if (file_load(s, dirfd, errbuf, errlen) == -1)
		return -1;
	if (was_loaded)
		log_warn("store_file_changed", "%s was changed by another "
		    "program: continuing from %llu (was %llu)", s->file_path,
		    (unsigned long long)s->stats.count,
		    (unsigned long long)before);
	return 0;
}

/*
 * The temp file to write the next count into, open for writing at offset
 * 0.  After an update, visits.tmp is the previous counter file (the two
 * were exchanged), its blocks and inode already allocated: rewriting it
 * in place costs fewer disk writes than a new file (doc/PERFORMANCE.md).
 * But a reader that opened the counter file before that update may still
 * be reading it, and must never see it change.  A write lease answers
 * exactly that: the kernel grants it only while no one else has the file
 * open, and a later open() of it waits until we release the lease.  When
 * the lease is refused (someone has it open; not our file; a filesystem
 * without leases), the old name is unlinked, which leaves the reader's
 * file as it is, and a new temp file is made.
 */
static int
temp_open(struct store *s, int dirfd, int *leased, off_t *size,
    char *errbuf, size_t errlen)
{
	struct stat	st;
	int		fd;

	*leased = 0;
	*size = 0;
	/* O_NONBLOCK: a FIFO put in its place must not hang us. */
	fd = openat(dirfd, STORE_TEMP_NAME,
	    O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd != -1) {
		/* Linked elsewhere (the counter file itself?): not ours. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 &&
		    fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
			*leased = 1;
			*size = st.st_size;
			return fd;
		}
		close(fd);
	}
	if (unlinkat(dirfd, STORE_TEMP_NAME, 0) == -1 && errno != ENOENT)
		return fail(errbuf, errlen, s->dir, "remove " STORE_TEMP_NAME,
		    errno);
	fd = openat(dirfd, STORE_TEMP_NAME,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		return fail(errbuf, errlen, s->dir, "create " STORE_TEMP_NAME,
		    errno);
	return fd;
}

/*
 * The temp file takes the counter file's place: exchanged with it when
 * there is one, so that the temp name keeps the previous file for the next
 * update; renamed over it when there is none, or when this kernel or
 * filesystem cannot exchange (the next update then makes a new temp file).
 */
static int
put_in_place(int dirfd, int file_exists)
{
	if (file_exists) {
		if (renameat2(dirfd, STORE_TEMP_NAME, dirfd, STORE_FILE_NAME,
		    RENAME_EXCHANGE) == 0)
			return 0;
		/* ENOENT: removed since we looked; a rename recreates it. */
		if (errno != EINVAL && errno != ENOSYS && errno != ENOENT)
			return -1;
	}
	return renameat(dirfd, STORE_TEMP_NAME, dirfd, STORE_FILE_NAME);
}

/*
 * Replace the counter file with `value`: the temp file written, synced
 * and put in place, then the directory synced (only with `sync`).  Until
 * the exchange the counter file is untouched, so every failure before it
 * leaves the old count in place; *renamed tells whether the exchange or
 * rename happened.
 *
 * The temp file's data is synced in both settings: a journal may commit
 * the exchange before the kernel writes the data back (ext4 forces that
 * write-back before a rename over a file, not before an exchange), and a
 * power cut then leaves an empty counter file (tests/powercut, on ext4
 * and on xfs).  Only the directory sync, which makes the new count itself
 * durable, is skipped without the durable setting.
 */
static int
file_replace(struct store *s, int dirfd, uint64_t value, int sync,
    int *renamed, char *errbuf, size_t errlen)
{
	char		text[24];
	struct buf	b;
	struct stat	st;
	off_t		size;
	int		fd, leased;

	*renamed = 0;
	buf_init(&b, text, sizeof(text));
	buf_put_u64(&b, value);
	buf_append(&b, "\n", 1);

	if ((fd = temp_open(s, dirfd, &leased, &size, errbuf, errlen)) == -1)
		return -1;
	if (buf_write(&b, fd) == -1) {
		fail(errbuf, errlen, s->dir, "write " STORE_TEMP_NAME, errno);
		goto bad;
	}
	/* A reused file may be longer (an older count edited by hand). */
	if (size > (off_t)b.len && ftruncate(fd, (off_t)b.len) == -1) {
		fail(errbuf, errlen, s->dir, "truncate " STORE_TEMP_NAME,
		    errno);
		goto bad;
	}
	if (fdatasync(fd) == -1) {
		fail(errbuf, errlen, s->dir, "sync " STORE_TEMP_NAME, errno);
		goto bad;
	}
	if (leased) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		leased = 0;
	}
	if (put_in_place(dirfd, s->file_exists) == -1) {
		fail(errbuf, errlen, s->file_path, "rename over", errno);
		goto bad;
	}
	*renamed = 1;
	if (sync && fsync(dirfd) == -1) {
		fail(errbuf, errlen, s->dir, "sync directory", errno);
		goto bad;
	}
	if (fstat(fd, &st) == -1) {
		fail(errbuf, errlen, s->file_path, "stat", errno);
		goto bad;
	}
	if (close(fd) == -1)
		return fail(errbuf, errlen, s->file_path, "close", errno);
	s->file = st;
	s->file_exists = 1;
	return 0;

bad:
	/* The temp file is rewritten next; file_write() undoes an exchange. */
	if (leased)
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	return -1;
}

/*
 * The new count, or the old one back.  Once renamed, a failure (the
 * directory sync, say) leaves the new count in the file although its
 * visits are refused; so the old count is put back the same way, its data
 * synced so that a power cut cannot leave an empty file, without the
 * directory sync (best effort: if that fails too, the file is read again
 * on the next try and counting goes on from what it says).
 */
static int
file_write(struct store *s, int dirfd, uint64_t old, uint64_t value,
    char *errbuf, size_t errlen)
{
	char	ignored[256];
	int	renamed;

	if (file_replace(s, dirfd, value, s->durable, &renamed, errbuf,
	    errlen) == 0)
		return 0;
	if (renamed && file_replace(s, dirfd, old, 0, &renamed, ignored,
	    sizeof(ignored)) == -1)
		s->loaded = 0;
	return -1;
}

/* One update for a whole batch: `increment` visits (0 for a check). */
static int
commit(struct store *s, uint64_t increment, uint64_t *newcount, char *errbuf,
    size_t errlen)
{
	uint64_t	value;
	int		dirfd, rc = -1;

	if (dir_open(s, &dirfd, errbuf, errlen) != 0)
		return -1;
	if (file_check(s, dirfd, errbuf, errlen) == -1)
		goto out;
	/* Only this thread changes s->stats.count: reading it here is safe. */
	value = s->stats.count;
	if (increment > UINT64_MAX - value) {
		snprintf(errbuf, errlen, "%s: the count is at its maximum "
		    "%llu", s->file_path, (unsigned long long)value);
		goto out;
	}
	if (file_write(s, dirfd, value, value + increment, errbuf,
	    errlen) == -1)
		goto out;
	value += increment;
	*newcount = value;
	rc = 0;
out:
	close(dirfd);
	return rc;
}

/* Under lock: account for the batch and give each waiter its result. */
static void
finish_batch(struct store *s, struct store_waiter *batch, uint64_t increment,
    int rc, uint64_t newcount, const char *err)
{
	struct store_waiter	*w;
	uint64_t		 running;
	int			 was_ready = s->stats.ready;

	if (rc == 0) {
		running = newcount - increment;
		for (w = batch; w != NULL; w = w->next) {
			running += w->increment;
			w->count = w->increment ? running : newcount;
		}
		s->stats.count = newcount;
		s->stats.count_known = 1;
		s->stats.ready = 1;
		s->error[0] = '\0';
		s->last_write_ns = clock_monotonic_ns();
		s->stats.commits++;
		s->stats.commit_visits += increment;
		if (!was_ready)
			log_info("store_ready", "%s: counting from %llu",
			    s->file_path, (unsigned long long)newcount);
	} else {
		/* Log a failure once, not once per refused request. */
		if (was_ready || strcmp(s->error, err) != 0)
			log_error("store_failed", "%s", err);
		s->stats.ready = 0;
		snprintf(s->error, sizeof(s->error), "%s", err);
		s->stats.errors++;
	}
}

/*
 * The only thread that writes the file.  It commits whatever is queued,
 * then completes those waiters outside the lock (their completions write
 * answers to sockets).  On stop it drains the queue first.
 */
static void *
store_thread(void *arg)
{
	struct store		*s = arg;
	struct store_waiter	*batch, *w, *next;
	uint64_t		 increment, newcount;
	char			 err[512];
	int			 rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->queue == NULL && !s->stopping)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->queue == NULL)
			break;
		batch = s->queue;
		s->queue = NULL;
		s->queue_tail = &s->queue;
		pthread_mutex_unlock(&s->lock);

		increment = 0;
		for (w = batch; w != NULL; w = w->next)
			increment += w->increment;
		err[0] = '\0';
		newcount = 0;
		rc = commit(s, increment, &newcount, err, sizeof(err));

		pthread_mutex_lock(&s->lock);
		finish_batch(s, batch, increment, rc, newcount, err);
		pthread_mutex_unlock(&s->lock);
		for (w = batch; w != NULL; w = next) {
			next = w->next;		/* done() may free w */
			w->done(w, rc == 0 ? NULL : err);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * 0 when the store knows the answer now: the count it holds (read by a
 * check when not), or readiness proven by a write less than a second ago
 * (a visit, or a check that writes the count again).  Else 1: the waiter
 * is queued for the store thread, which calls its done() once the file
 * says so.  Either way no request thread waits for the disk.
 */
int
store_ask(struct store *s, enum store_ask ask, struct store_waiter *w)
{
	int	known = 0;

	if (ask == STORE_NOTHING)
		return 0;
	pthread_mutex_lock(&s->lock);
	w->count = s->stats.count;
	if (ask == STORE_COUNT)
		known = s->stats.count_known;
	else if (ask == STORE_READY)
		known = s->stats.ready &&
		    clock_monotonic_ns() - s->last_write_ns < READY_CACHE_NS;
	if (!known) {
		w->increment = ask == STORE_VISIT;
		w->next = NULL;
		*s->queue_tail = w;
		s->queue_tail = &w->next;
		pthread_cond_signal(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
	return !known;
}

struct store *
store_open(const char *dir, int durable, enum store_open_result *result,
    char *errbuf, size_t errlen)
{
	struct store	*s;
	int		 dirfd;

	*result = STORE_OPEN_OK;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->dir = strdup(dir)) == NULL || asprintf(&s->file_path,
	    "%s/%s", dir, STORE_FILE_NAME) == -1) {
		free(s->dir);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	s->queue_tail = &s->queue;
	s->durable = durable;
	s->lockfd = -1;
	snprintf(s->error, sizeof(s->error), "not loaded yet");

	/*
	 * Load now so that a locked directory stops the program at start.
	 * Other problems (no directory yet, a bad file) leave the store not
	 * ready; every request tries again.
	 */
	errbuf[0] = '\0';
	switch (dir_open(s, &dirfd, errbuf, errlen)) {
	case -2:
		*result = STORE_OPEN_LOCKED;
		store_close(s);
		return NULL;
	case -1:
		break;
	default:
		if (file_load(s, dirfd, errbuf, errlen) == 0) {
			errbuf[0] = '\0';
			log_info("store_loaded", "%s: count %llu, %s",
			    s->file_path, (unsigned long long)s->stats.count,
			    durable ? "durable" : "not durable");
		}
		close(dirfd);
		break;
	}
	if (errbuf[0] != '\0') {
		log_error("store_failed", "%s", errbuf);
		snprintf(s->error, sizeof(s->error), "%s", errbuf);
	}
	if (pthread_create(&s->thread, NULL, store_thread, s) != 0) {
		snprintf(errbuf, errlen, "cannot start the store thread");
		store_close(s);
		return NULL;
	}
	s->thread_started = 1;
	return s;
}

void
store_stats(struct store *s, struct store_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Called once no request runs any more: completes what is queued and
 * stops the store thread.  Without the durable setting the
 * count so far is synced now, so that a clean stop loses nothing even on a
 * power loss right after it.
 */
int
store_close(struct store *s)
{
	int	fd, rc = 0;

	if (s == NULL)
		return 0;
	if (s->thread_started) {
		/* Let the store thread finish what is queued, then stop. */
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	/*
	 * The locked directory, not the path: every update went through
	 * dir_open(), which locks whatever the path names, so the last count
	 * is in this one even if the path has changed since.
	 */
	if (!s->durable && s->loaded && s->file_exists && s->lockfd != -1) {
		fd = openat(s->lockfd, STORE_FILE_NAME,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd == -1 || fsync(fd) == -1 || fsync(s->lockfd) == -1) {
			char	e[128];

			log_error("store_sync_failed", "%s: sync at exit: %s",
			    s->file_path, errstr(errno, e, sizeof(e)));
			rc = -1;
		}
		if (fd != -1)
			close(fd);
	}
	if (s->lockfd != -1)
		close(s->lockfd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	free(s->dir);
	free(s->file_path);
	free(s);
	return rc;
}
