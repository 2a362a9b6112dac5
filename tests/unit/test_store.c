/*
 * The counter store: counting, persistence, corrupt files, locking,
 * exactness under threads, and every write path made to fail on purpose.
 *
 * Linked with -Wl,--wrap for openat, write, fdatasync, fsync, renameat and
 * renameat2 (the way Pacemaker's tests fail libc calls): each wrapper fails when its
 * fault is armed and calls the real function otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "store_wait.h"
#include "tap.h"

/* Faults, armed by the tests.  Log lines on stderr are never failed. */
static int	fail_create_errno;	/* openat for writing, or O_CREAT */
static int	fail_write_errno;
static int	short_writes;		/* next writes write 1 byte */
static int	fail_fdatasync_errno;
static int	fail_fsync_errno;
static int	fail_rename_errno;

/* What fsync() was called on: the inodes of the last file and directory. */
static ino_t	fsynced_file, fsynced_dir;

int	__real_openat(int, const char *, int, ...);
int	__wrap_openat(int, const char *, int, ...);
ssize_t	__real_write(int, const void *, size_t);
ssize_t	__wrap_write(int, const void *, size_t);
int	__real_fdatasync(int);
int	__wrap_fdatasync(int);
int	__real_fsync(int);
int	__wrap_fsync(int);
int	__real_renameat(int, const char *, int, const char *);
int	__wrap_renameat(int, const char *, int, const char *);
int	__real_renameat2(int, const char *, int, const char *, unsigned);
int	__wrap_renameat2(int, const char *, int, const char *, unsigned);

int
__wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	/* As on a read-only or forbidding filesystem: no file to write. */
	if (fail_create_errno && (flags & (O_CREAT | O_WRONLY | O_RDWR))) {
		errno = fail_create_errno;
		return -1;
	}
	return __real_openat(dirfd, path, flags, mode);
}

ssize_t
__wrap_write(int fd, const void *p, size_t n)
{
	if (fd != STDERR_FILENO) {
		if (short_writes > 0 && n > 1) {
			short_writes--;
			return __real_write(fd, p, 1);
		}
		if (fail_write_errno) {
			errno = fail_write_errno;
			return -1;
		}
	}
	return __real_write(fd, p, n);
}

int
__wrap_fdatasync(int fd)
{
	if (fail_fdatasync_errno) {
		errno = fail_fdatasync_errno;
		return -1;
	}
	return __real_fdatasync(fd);
}

int
__wrap_fsync(int fd)
{
	struct stat	st;

	if (fstat(fd, &st) == 0)
		*(S_ISDIR(st.st_mode) ? &fsynced_dir : &fsynced_file) =
		    st.st_ino;
	if (fail_fsync_errno) {
		errno = fail_fsync_errno;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_renameat(int a, const char *from, int b, const char *to)
{
	if (fail_rename_errno) {
		errno = fail_rename_errno;
		return -1;
	}
	return __real_renameat(a, from, b, to);
}

int
__wrap_renameat2(int a, const char *from, int b, const char *to,
    unsigned flags)
{
	if (fail_rename_errno) {
		errno = fail_rename_errno;
		return -1;
	}
	return __real_renameat2(a, from, b, to, flags);
}

static char	dir[300], file[320];

static void
put_file(const char *content, size_t len)
{
	int	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd == -1 || __real_write(fd, content, len) != (ssize_t)len) {
		perror("put_file");
		exit(99);
	}
	close(fd);
}

/* The file's bytes, or "<missing>". */
static const char *
file_bytes(void)
{
	static char	text[128];
	ssize_t		n;
	int		fd = open(file, O_RDONLY);

	if (fd == -1)
		return "<missing>";
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n < 0 ? 0 : n] = '\0';
	return text;
}

static ino_t
ino_of(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static struct store *
open_store(int durable)
{
	enum store_open_result	r;
	char			err[512];
	struct store		*s = store_open(dir, durable, &r, err,
				    sizeof(err));

	if (s == NULL) {
		printf("Bail out! store_open: %s\n", err);
		exit(99);
	}
	return s;
}

static void
test_counting(void)
{
	struct store		*s, *again;
	enum store_open_result	 r;
	char			 err[512];
	uint64_t		 n = 0;

	unlink(file);
	s = open_store(1);
	ok(count_wait(s, &n, err, sizeof(err)) == 0 && n == 0,
	    "a missing file is a count of 0");
	is_str(file_bytes(), "<missing>", "reading does not create the file");
	ok(visit_wait(s, &n, err, sizeof(err)) == 0, "first visit");
	is_u64(n, 1, "is visit 1");
	is_str(file_bytes(), "1\n", "the file says 1 and a newline");
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 2, "visit 2");
	ok(ready_wait(s, err, sizeof(err)) == 0, "ready");
	is_str(file_bytes(), "2\n", "a check does not count");

	again = store_open(dir, 1, &r, err, sizeof(err));
	ok(again == NULL && r == STORE_OPEN_LOCKED,
	    "a second store on the same directory is refused");
	has_str(err, "in use by another", "with a clear reason");
	store_close(s);

	s = open_store(0);
	ok(count_wait(s, &n, err, sizeof(err)) == 0 && n == 2,
	    "the count survives a reopen");
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 3,
	    "and goes on (not durable)");
	store_close(s);
	is_str(file_bytes(), "3\n", "closed with 3");

	s = open_store(1);
	put_file("100\n", 4);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 101,
	    "a valid count written by someone else is taken up (%llu)",
	    (unsigned long long)n);
	store_close(s);
}

/*
 * Without the durable setting the count is synced at close: the counter
 * file and the directory that was locked, even when the data directory's
 * path has since been moved away.
 */
static void
test_close_syncs(void)
{
	struct store	*s;
	char		 err[512], moved[320];
	uint64_t	 n = 0;
	ino_t		 dir_ino = ino_of(dir);

	snprintf(moved, sizeof(moved), "%s.moved", dir);
	s = open_store(0);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0, "not durable: counted");
	fsynced_file = fsynced_dir = 0;
	ok(store_close(s) == 0, "close syncs the count");
	ok(fsynced_file == ino_of(file), "the counter file is synced at close");
	ok(fsynced_dir == dir_ino, "and its directory");

	s = open_store(0);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0, "counted again");
	if (rename(dir, moved) == -1)
		abort();
	fsynced_file = fsynced_dir = 0;
	ok(store_close(s) == 0, "the data directory moved away: close syncs");
	ok(fsynced_dir == dir_ino, "the directory the count is in");
	if (rename(moved, dir) == -1)
		abort();

	s = open_store(0);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0, "counted a third time");
	fail_fsync_errno = EIO;
	ok(store_close(s) == -1, "a failed sync at close is reported");
	fail_fsync_errno = 0;
}

static void
test_parse(void)
{
	static const struct {
		const char	*text;
		int		 valid;
		uint64_t	 value;
		const char	*why;
	} cases[] = {
		{ "0\n", 1, 0, NULL },
		{ "16\n", 1, 16, NULL },
		{ "16", 1, 16, NULL },
		{ "18446744073709551615\n", 1, UINT64_MAX, NULL },
		{ "18446744073709551616\n", 0, 0, "larger than the maximum" },
		{ "99999999999999999999\n", 0, 0, "larger than the maximum" },
		{ "", 0, 0, "empty" },
		{ "\n", 0, 0, "no digits" },
		{ "-5\n", 0, 0, "negative" },
		{ "007\n", 0, 0, "leading zero" },
		{ "12 \n", 0, 0, "' ' at byte 3" },
		{ " 12\n", 0, 0, "' ' at byte 1" },
		{ "1\n2\n", 0, 0, "byte 2" },
		{ "12\n\n", 0, 0, "byte 3" },
		{ "abc\n", 0, 0, "'a' at byte 1" },
		{ "1\r\n", 0, 0, "0x0d" },
	};
	char		why[128];
	uint64_t	v;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int	rc = store_parse_count(cases[i].text,
			    strlen(cases[i].text), &v, why, sizeof(why));

		if (cases[i].valid)
			ok(rc == 0 && v == cases[i].value,
			    "parse \"%s\" is valid", cases[i].text);
		else {
			ok(rc == -1, "parse refuses \"%s\"", cases[i].text);
			has_str(why, cases[i].why, "because: %s", why);
		}
	}
}

/* A bad file is refused, left byte for byte, and counting resumes once
 * it is fixed, without reopening the store. */
static void
check_refused(const char *what, const char *expect_in_error)
{
	struct store	*s;
	struct stat	 before, after;
	char		 err[512];
	uint64_t	 n;
	int		 had = lstat(file, &before) == 0;

	s = open_store(1);
	ok(visit_wait(s, &n, err, sizeof(err)) == -1, "%s: visit refused",
	    what);
	has_str(err, expect_in_error, "%s: error says why", what);
	has_str(err, dir, "%s: error names the file", what);
	ok(ready_wait(s, err, sizeof(err)) == -1, "%s: not ready", what);
	ok(count_wait(s, &n, err, sizeof(err)) == -1, "%s: no count to "
	    "show", what);
	ok(had && lstat(file, &after) == 0 && after.st_ino == before.st_ino &&
	    after.st_size == before.st_size &&
	    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
	    "%s: the file is left alone", what);

	/* The operator fixes it. */
	if (S_ISDIR(after.st_mode))
		rmdir(file);
	else
		unlink(file);
	put_file("41\n", 3);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 42,
	    "%s: fixed, counting resumes at 42 without a restart", what);
	store_close(s);
}

static void
test_corrupt(void)
{
	char	big[64];
	char	link[400];

	unlink(file);
	put_file("garbage\n", 8);
	check_refused("garbage", "not a valid count");
	put_file("-3\n", 3);
	check_refused("negative", "negative");
	put_file("18446744073709551616\n", 21);
	check_refused("past the maximum", "larger than the maximum");
	put_file("", 0);
	check_refused("empty file", "empty");
	memset(big, '7', sizeof(big));
	put_file(big, sizeof(big));
	check_refused("huge file", "bytes long");
	unlink(file);
	mkdir(file, 0755);
	check_refused("a directory", "is a directory");
	snprintf(link, sizeof(link), "%s/nowhere", dir);
	unlink(file);
	if (symlink(link, file) != 0)
		perror("symlink");
	check_refused("a dangling symlink", "symbolic link");
	unlink(file);
	mkfifo(file, 0644);
	check_refused("a FIFO", "not a regular file");
}

static void
test_maximum(void)
{
	struct store	*s;
	char		 err[512];
	uint64_t	 n;

	put_file("18446744073709551614\n", 21);
	s = open_store(1);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == UINT64_MAX,
	    "counts up to the maximum");
	ok(visit_wait(s, &n, err, sizeof(err)) == -1, "never wraps");
	has_str(err, "maximum", "says it is at the maximum");
	is_str(file_bytes(), "18446744073709551615\n", "file keeps the max");
	store_close(s);
}

/* Every failing write path: refused, file untouched, recovery. */
static void
check_fault(int *fault, int errnum, const char *what, const char *expect)
{
	struct store	*s;
	char		 err[512];
	uint64_t	 n;

	put_file("7\n", 2);
	s = open_store(1);
	*fault = errnum;
	ok(visit_wait(s, &n, err, sizeof(err)) == -1, "%s: visit refused",
	    what);
	has_str(err, expect, "%s: error says %s", what, expect);
	is_str(file_bytes(), "7\n", "%s: the file still says 7", what);
	ok(ready_wait(s, err, sizeof(err)) == -1, "%s: not ready", what);
	ok(count_wait(s, &n, err, sizeof(err)) == 0 && n == 7,
	    "%s: the last good count is still shown", what);
	*fault = 0;
	ok(ready_wait(s, err, sizeof(err)) == 0, "%s: ready again once the "
	    "fault is gone", what);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 8,
	    "%s: the refused visit was not counted", what);
	store_close(s);
	ok(access(dir, F_OK) == 0 && faccessat(AT_FDCWD, file, F_OK, 0) == 0,
	    "%s: file in place", what);
}

static void
test_faults(void)
{
	char		 tmp[320];
	struct store	*s;
	char		 err[512];
	uint64_t	 n;

	check_fault(&fail_create_errno, EROFS, "read-only file system",
	    "Read-only file system");
	check_fault(&fail_create_errno, EACCES, "permission denied",
	    "Permission denied");
	check_fault(&fail_write_errno, ENOSPC, "disk full", "No space left");
	check_fault(&fail_write_errno, EIO, "I/O error on write",
	    "Input/output error");
	check_fault(&fail_fdatasync_errno, EIO, "I/O error on sync",
	    "sync visits.tmp");
	check_fault(&fail_rename_errno, EROFS, "rename refused",
	    "rename over");
	snprintf(tmp, sizeof(tmp), "%s/visits.tmp", dir);
	ok(access(tmp, F_OK) == -1 || ino_of(tmp) != ino_of(file),
	    "the temp file left is not the counter file");

	/* A short write is continued. */
	put_file("7\n", 2);
	s = open_store(1);
	short_writes = 1;
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 8,
	    "a short write is completed");
	is_str(file_bytes(), "8\n", "with the whole number");
	/* A short write then ENOSPC is a failure, file untouched. */
	short_writes = 1;
	fail_write_errno = ENOSPC;
	ok(visit_wait(s, &n, err, sizeof(err)) == -1,
	    "a short write then ENOSPC fails");
	fail_write_errno = 0;
	short_writes = 0;
	is_str(file_bytes(), "8\n", "and leaves the file as it was");
	store_close(s);

	/*
	 * The directory sync comes after the rename: if it fails the visit
	 * is refused (not known durable) and the old count is put back.
	 */
	put_file("7\n", 2);
	s = open_store(1);
	fail_fsync_errno = EIO;
	ok(visit_wait(s, &n, err, sizeof(err)) == -1,
	    "a failed directory sync refuses the visit");
	has_str(err, "sync directory", "and says so");
	is_str(file_bytes(), "7\n", "the old count is put back");
	fail_fsync_errno = 0;
	ok(visit_wait(s, &n, err, sizeof(err)) == 0,
	    "then counting resumes");
	is_u64(n, 8, "and the refused visit was not counted");
	store_close(s);
}

/*
 * visits.tmp after an update is the previous counter file.  It is
 * rewritten only when no one else has it open; otherwise a new one is
 * made and the reader's file stays as it was.
 */
static void
test_temp_file(void)
{
	char		 tmp[320], other[320], got[32], err[512];
	struct store	*s;
	uint64_t	 n;
	ino_t		 first;
	ssize_t		 len;
	int		 reader, durable;

	snprintf(tmp, sizeof(tmp), "%s/visits.tmp", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	for (durable = 0; durable <= 1; durable++) {
		unlink(tmp);
		put_file("7\n", 2);
		first = ino_of(file);
		s = open_store(durable);
		ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 8,
		    "durable=%d: counted 8", durable);
		is_str(file_bytes(), "8\n", "durable=%d: the file says 8",
		    durable);
		ok(ino_of(tmp) == first, "durable=%d: visits.tmp is the "
		    "previous counter file (exchanged)", durable);
		ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 9 &&
		    ino_of(file) == first, "durable=%d: the next update "
		    "rewrote it and exchanged them back", durable);

		/* A reader holds the counter file open across two updates. */
		reader = open(file, O_RDONLY);
		ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 10 &&
		    ino_of(tmp) == first, "durable=%d: with a reader, the "
		    "update exchanged the files", durable);
		ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 11,
		    "durable=%d: counted 11", durable);
		len = pread(reader, got, sizeof(got) - 1, 0);
		got[len < 0 ? 0 : len] = '\0';
		is_str(got, "9\n", "durable=%d: the reader's file was not "
		    "rewritten (still 9)", durable);
		ok(ino_of(file) != first && ino_of(tmp) != first,
		    "durable=%d: a new temp file was made instead", durable);
		is_str(file_bytes(), "11\n", "durable=%d: the file says 11",
		    durable);
		close(reader);
		store_close(s);
	}

	/* visits.tmp linked to another name is not rewritten either. */
	s = open_store(1);
	unlink(other);
	ok(link(tmp, other) == 0, "visits.tmp linked as 'other'");
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 12,
	    "counted 12 with a linked visits.tmp");
	is_str(file_bytes(), "12\n", "the file says 12");
	{
		int	fd = open(other, O_RDONLY);

		len = fd == -1 ? -1 : pread(fd, got, sizeof(got) - 1, 0);
		got[len < 0 ? 0 : len] = '\0';
		if (fd != -1)
			close(fd);
	}
	is_str(got, "10\n", "the other name still holds what it held (10)");
	unlink(other);

	/* A longer temp file (an older count edited by hand) is cut. */
	unlink(tmp);
	{
		int	fd = open(tmp, O_WRONLY | O_CREAT, 0644);

		ok(fd != -1 && __real_write(fd, "123456789012\n", 13) == 13,
		    "a 13-byte visits.tmp");
		if (fd != -1)
			close(fd);
	}
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 13,
	    "counted 13");
	is_str(file_bytes(), "13\n", "the file says exactly 13");

	/* A FIFO in its place neither hangs nor stops counting. */
	unlink(tmp);
	ok(mkfifo(tmp, 0600) == 0, "visits.tmp is a FIFO");
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 14,
	    "counted 14 past the FIFO");
	is_str(file_bytes(), "14\n", "the file says 14");

	/* A directory in its place: refused, then counting again. */
	unlink(tmp);
	ok(mkdir(tmp, 0700) == 0, "visits.tmp is a directory");
	ok(visit_wait(s, &n, err, sizeof(err)) == -1, "the visit is refused");
	has_str(err, "visits.tmp", "the error names visits.tmp");
	is_str(file_bytes(), "14\n", "the file still says 14");
	rmdir(tmp);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 15,
	    "counted 15 once the directory is gone");
	store_close(s);
	unlink(tmp);
}

static void
test_missing_dir(void)
{
	struct store	*s;
	char		 err[512], sub[300];
	uint64_t	 n;
	char		*saved = strdup(dir);

	snprintf(sub, sizeof(sub), "%s/later", saved);
	snprintf(dir, sizeof(dir), "%s", sub);
	snprintf(file, sizeof(file), "%s/visits", sub);
	s = open_store(1);
	ok(visit_wait(s, &n, err, sizeof(err)) == -1,
	    "no data directory: refused");
	has_str(err, "does not exist", "says the directory is missing");
	mkdir(sub, 0755);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 1,
	    "directory created: counting starts at 1");
	/* The directory is replaced under us: the new one is read. */
	unlink(file);
	rmdir(sub);
	ok(visit_wait(s, &n, err, sizeof(err)) == -1,
	    "directory removed: refused");
	mkdir(sub, 0755);
	put_file("50\n", 3);
	ok(visit_wait(s, &n, err, sizeof(err)) == 0 && n == 51,
	    "a new directory at the path is locked and read");
	store_close(s);
	unlink(file);
	snprintf(file, sizeof(file), "%s/visits.tmp", sub);
	unlink(file);
	rmdir(sub);
	snprintf(dir, sizeof(dir), "%s", saved);
	snprintf(file, sizeof(file), "%s/visits", saved);
	free(saved);
}

#define THREADS		16
#define VISITS_EACH	2000	/* at most; durable runs fewer */

static struct store	*shared;
static int		 thread_failures;
static uint64_t		 seen[THREADS * VISITS_EACH];

static int		 visits_each;

static void *
visitor(void *arg)
{
	char		err[512];
	uint64_t	n;
	int		i;

	(void)arg;
	for (i = 0; i < visits_each; i++) {
		if (visit_wait(shared, &n, err, sizeof(err)) == -1 ||
		    n == 0 || n > (uint64_t)(THREADS * visits_each))
			__atomic_fetch_add(&thread_failures, 1,
			    __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&seen[n - 1], 1,
			    __ATOMIC_RELAXED);
	}
	return NULL;
}

static void
test_threads(int durable, int each)
{
	pthread_t		t[THREADS];
	struct store_stats	st;
	uint64_t		n;
	char			err[512];
	int			i, dupes = 0;

	unlink(file);
	visits_each = each;
	memset(seen, 0, sizeof(seen));
	thread_failures = 0;
	shared = open_store(durable);
	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, visitor, NULL);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS * each; i++)
		dupes += seen[i] != 1;
	is_int(thread_failures, 0, "%s: no visit failed",
	    durable ? "durable" : "not durable");
	is_int(dupes, 0, "%s: every visit got its own number",
	    durable ? "durable" : "not durable");
	ok(count_wait(shared, &n, err, sizeof(err)) == 0 &&
	    n == (uint64_t)(THREADS * each), "%s: %d threads x %d visits = %d",
	    durable ? "durable" : "not durable", THREADS, each,
	    THREADS * each);
	store_stats(shared, &st);
	is_u64(st.commit_visits, (uint64_t)(THREADS * each),
	    "commits recorded every visit");
	printf("# %s: %llu commits for %d visits\n",
	    durable ? "durable" : "not durable",
	    (unsigned long long)st.commits, THREADS * each);
	store_close(shared);
	{
		char	want[32];

		snprintf(want, sizeof(want), "%d\n", THREADS * each);
		is_str(file_bytes(), want, "the file agrees");
	}
}

int
main(void)
{
	const char	*tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-store.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(file, sizeof(file), "%s/visits", dir);

	test_counting();
	test_close_syncs();
	test_parse();
	test_corrupt();
	test_maximum();
	test_faults();
	test_temp_file();
	test_missing_dir();
	test_threads(0, VISITS_EACH);
	test_threads(1, VISITS_EACH / 4);

	unlink(file);
	snprintf(file, sizeof(file), "%s/visits.tmp", dir);
	unlink(file);
	ok(rmdir(dir) == 0, "nothing else is left in the test directory");
	return tap_done();
}
