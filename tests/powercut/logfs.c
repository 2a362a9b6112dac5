/*
 * logfs.c: a FUSE file system with one file, "disk", that passes reads
 * and writes through to a backing image and appends every write and every
 * fsync to a log, for tests/powercut.
 *
 *	logfs IMAGE LOG MOUNTPOINT
 *
 * A loop device on MOUNTPOINT/disk turns the block layer's writes into
 * writes here and its cache flushes (REQ_PREFLUSH, FUA) into fsync.  So
 * the log is what a disk with a volatile write cache was asked to do:
 * what a write lists is on the platter only once a later flush returned.
 *
 * Each record is a header (struct rec) and, for a write, its data.  A
 * record is appended with one write(2) before the kernel gets its answer:
 * a reader that sees the log's size after an event (a response, say)
 * sees every write and flush that finished before it.  Single-threaded
 * (-s): records never interleave.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define DISK_PATH	"/disk"
#define REC_WRITE	0x57	/* 'W' */
#define REC_FLUSH	0x46	/* 'F' */

/* The log record header: little-endian, as crashstates.py reads it. */
struct rec {
	uint32_t	type;
	uint32_t	len;
	uint64_t	off;
};

static int	imgfd = -1;
static int	logfd = -1;

static int	log_append(uint32_t, uint64_t, const void *, uint32_t);
static int	lf_getattr(const char *, struct stat *,
		    struct fuse_file_info *);
static int	lf_readdir(const char *, void *, fuse_fill_dir_t, off_t,
		    struct fuse_file_info *, enum fuse_readdir_flags);
static int	lf_open(const char *, struct fuse_file_info *);
static int	lf_read(const char *, char *, size_t, off_t,
		    struct fuse_file_info *);
static int	lf_write(const char *, const char *, size_t, off_t,
		    struct fuse_file_info *);
static int	lf_fsync(const char *, int, struct fuse_file_info *);

static int
log_append(uint32_t type, uint64_t off, const void *data, uint32_t len)
{
	struct rec	r;
	struct iovec	iov[2];
	ssize_t		n;

	r.type = type;
	r.len = len;
	r.off = off;
	iov[0].iov_base = &r;
	iov[0].iov_len = sizeof(r);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	n = writev(logfd, iov, len > 0 ? 2 : 1);
	if (n != (ssize_t)(sizeof(r) + len)) {
		fprintf(stderr, "logfs: log write: %s\n",
		    n == -1 ? strerror(errno) : "short write");
		return -EIO;
	}
	return 0;
}

static int
lf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, DISK_PATH) != 0)
		return -ENOENT;
	if (fstat(imgfd, st) == -1)
		return -errno;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	return 0;
}

static int
lf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, DISK_PATH + 1, NULL, 0, 0);
	return 0;
}

static int
lf_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	return strcmp(path, DISK_PATH) == 0 ? 0 : -ENOENT;
}

static int
lf_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ssize_t	n;

	(void)path;
	(void)fi;
	n = pread(imgfd, buf, size, off);
	return n == -1 ? -errno : (int)n;
}

static int
lf_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ssize_t	n;
	int	rc;

	(void)path;
	(void)fi;
	if ((rc = log_append(REC_WRITE, (uint64_t)off, buf,
	    (uint32_t)size)) != 0)
		return rc;
	n = pwrite(imgfd, buf, size, off);
	return n == -1 ? -errno : (int)n;
}

/*
 * The flush.  The image itself is not synced: the log, not the image,
 * is what the crash states are built from.
 */
static int
lf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return log_append(REC_FLUSH, 0, NULL, 0);
}

static const struct fuse_operations ops = {
	.getattr = lf_getattr,
	.readdir = lf_readdir,
	.open = lf_open,
	.read = lf_read,
	.write = lf_write,
	.fsync = lf_fsync,
};

int
main(int argc, char *argv[])
{
	char	*fargv[] = { argv[0], "-f", "-s", "-o", "default_permissions",
		    NULL, NULL };

	if (argc != 4) {
		fprintf(stderr, "usage: logfs IMAGE LOG MOUNTPOINT\n");
		return 2;
	}
	if ((imgfd = open(argv[1], O_RDWR | O_CLOEXEC)) == -1) {
		fprintf(stderr, "logfs: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	logfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0600);
	if (logfd == -1) {
		fprintf(stderr, "logfs: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	fargv[5] = argv[3];
	return fuse_main(6, fargv, &ops, NULL);
}
