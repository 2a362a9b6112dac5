/*
 * record.c: FastCGI records.
 *
 * Requests: libfcgi parses them, but with blocking reads, so a connection
 * goes to libfcgi only once a whole request has arrived, up to the empty
 * STDIN record that ends it; record_request_state() tells from the bytes
 * seen so far (MSG_PEEK), walking the record headers only.
 *
 * Answers: a whole FastCGI answer in one sendmsg().
 * libfcgi parses the requests; the answers are written here.  Its writer
 * streams buffer 8 KiB each per request in flight and copy every byte once
 * more, while an answer here is a few hundred bytes known in full before
 * it goes out: CGI headers and body as STDOUT records (at most 65535 bytes
 * each), an empty STDOUT record that ends the stream, and END_REQUEST.
 * A visit waiting for the disk then holds no libfcgi memory at all.
 *
 * Writes never block: an answer is far smaller than a socket buffer, so a
 * full buffer means the peer stopped reading (nginx never does).  That
 * connection is dropped instead of stalling the thread, which may be the
 * store thread answering a whole group commit.
 */
#include "config.h"

#include <errno.h>
#include <fastcgi.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "record.h"

#define MAX_IOV		16

static void	header(FCGI_Header *, int type, int request_id, size_t len);
static int	send_all(int, struct iovec *, int);

static void
header(FCGI_Header *h, int type, int request_id, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->version = FCGI_VERSION_1;
	h->type = (unsigned char)type;
	h->requestIdB1 = (unsigned char)((request_id >> 8) & 0xff);
	h->requestIdB0 = (unsigned char)(request_id & 0xff);
	h->contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
	h->contentLengthB0 = (unsigned char)(len & 0xff);
}

static int
send_all(int fd, struct iovec *iov, int n)
{
	struct msghdr	msg;
	ssize_t		w;

	while (n > 0) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;	/* EAGAIN too: see above */
		}
		/* Skip what went out; go on with the rest. */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

enum record_state
record_request_state(const unsigned char *p, size_t len)
{
	size_t	off = 0, content, record;

	while (len - off >= FCGI_HEADER_LEN) {
		if (p[off] != FCGI_VERSION_1)
			return RECORD_INVALID;
		content = ((size_t)p[off + 4] << 8) | p[off + 5];
		record = FCGI_HEADER_LEN + content + p[off + 6];
		if (len - off < record)
			return RECORD_INCOMPLETE;
		if (p[off + 1] == FCGI_STDIN && content == 0)
			return RECORD_COMPLETE;
		off += record;
	}
	return RECORD_INCOMPLETE;
}

int
record_send_answer(int fd, int request_id, const char *head, size_t head_len,
    const char *body, size_t body_len)
{
	FCGI_Header		 headers[MAX_IOV / 2];
	FCGI_EndRequestRecord	 end;
	struct iovec		 iov[MAX_IOV];
	const char		*part[2] = { head, body };
	size_t			 part_len[2] = { head_len, body_len };
	size_t			 chunk;
	int			 n = 0, h = 0, i;

	for (i = 0; i < 2; i++) {
		while (part_len[i] > 0) {
			/* Room for this record, the stream end and the end. */
			if (n + 4 > MAX_IOV) {
				errno = EMSGSIZE;
				return -1;
			}
			chunk = part_len[i] > FCGI_MAX_LENGTH ?
			    FCGI_MAX_LENGTH : part_len[i];
			header(&headers[h], FCGI_STDOUT, request_id, chunk);
			iov[n].iov_base = &headers[h++];
			iov[n++].iov_len = FCGI_HEADER_LEN;
			iov[n].iov_base = (void *)part[i];
			iov[n++].iov_len = chunk;
			part[i] += chunk;
			part_len[i] -= chunk;
		}
	}
	header(&headers[h], FCGI_STDOUT, request_id, 0);
	iov[n].iov_base = &headers[h];
	iov[n++].iov_len = FCGI_HEADER_LEN;

	memset(&end, 0, sizeof(end));
	header(&end.header, FCGI_END_REQUEST, request_id, sizeof(end.body));
	end.body.protocolStatus = FCGI_REQUEST_COMPLETE;
	iov[n].iov_base = &end;
	iov[n++].iov_len = sizeof(end);
	return send_all(fd, iov, n);
}
