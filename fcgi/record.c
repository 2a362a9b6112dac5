/*
 * record.c: FastCGI records.
 *
 * Requests: libfcgi parses them, but with blocking reads, so a connection
 * goes to libfcgi only once a whole request has arrived, up to the empty
 * STDIN record that ends it; record_request_state() tells from the bytes
 * seen so far (MSG_PEEK), walking the record headers.  It also walks the
 * name-value pairs of the PARAMS stream: libfcgi adds a pair's two
 * lengths in an int and aborts the process when that overflows (a pair
 * claiming 1 GiB + 1 GiB does it), so a pair longer than the stream that
 * holds it is refused here, before libfcgi sees it.
 *
 * Records in a buffer: what --check sends (check.c), the way nginx does.
 *
 * Answers: a whole FastCGI answer in one sendmsg().  libfcgi's writer
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
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "record.h"

#define MAX_IOV		16

/* Where a name-value pair parser is: a length byte, or inside a pair. */
struct pairs {
	int		 in_value_len;	/* reading the value's length */
	unsigned char	 len_bytes[4];
	int		 nlen_bytes;
	uint32_t	 name_len;
	uint64_t	 skip;		/* bytes of name and value left */
	uint64_t	 longest;	/* the largest name + value claimed */
};

static void	header(FCGI_Header *, int type, int request_id, size_t len);
static size_t	put_length(unsigned char *, size_t);
static int	send_all(int, struct iovec *, int);
static void	pairs_feed(struct pairs *, const unsigned char *, size_t);

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

/* One record, header and content, at p (len <= FCGI_MAX_LENGTH). */
size_t
record_put(unsigned char *p, int type, int request_id, const void *content,
    size_t len)
{
	FCGI_Header	h;

	header(&h, type, request_id, len);
	memcpy(p, &h, FCGI_HEADER_LEN);
	if (len > 0)
		memcpy(p + FCGI_HEADER_LEN, content, len);
	return FCGI_HEADER_LEN + len;
}

/* A length of a name-value pair: one byte, or four with the high bit. */
static size_t
put_length(unsigned char *p, size_t len)
{
	if (len < 0x80) {
		p[0] = (unsigned char)len;
		return 1;
	}
	p[0] = (unsigned char)(0x80 | ((len >> 24) & 0x7f));
	p[1] = (unsigned char)((len >> 16) & 0xff);
	p[2] = (unsigned char)((len >> 8) & 0xff);
	p[3] = (unsigned char)(len & 0xff);
	return 4;
}

/* A name-value pair of the PARAMS stream at p. */
size_t
record_put_pair(unsigned char *p, const char *name, const char *value)
{
	size_t	nlen = strlen(name), vlen = strlen(value), n;

	n = put_length(p, nlen);
	n += put_length(p + n, vlen);
	memcpy(p + n, name, nlen);
	memcpy(p + n + nlen, value, vlen);
	return n + nlen + vlen;
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

/*
 * Feed PARAMS content, remembering the longest pair claimed; whether it
 * fits is known only once the whole stream is there.
 */
static void
pairs_feed(struct pairs *pp, const unsigned char *p, size_t n)
{
	uint32_t	len;
	size_t		take;

	while (n > 0) {
		if (pp->skip > 0) {
			take = pp->skip < n ? (size_t)pp->skip : n;
			pp->skip -= take;
			p += take;
			n -= take;
			continue;
		}
		/* A length: one byte, or four with the high bit set. */
		pp->len_bytes[pp->nlen_bytes++] = *p++;
		n--;
		if (pp->len_bytes[0] < 0x80)
			len = pp->len_bytes[0];
		else if (pp->nlen_bytes < 4)
			continue;
		else
			len = ((uint32_t)(pp->len_bytes[0] & 0x7f) << 24) |
			    ((uint32_t)pp->len_bytes[1] << 16) |
			    ((uint32_t)pp->len_bytes[2] << 8) |
			    pp->len_bytes[3];
		pp->nlen_bytes = 0;
		if (!pp->in_value_len) {
			pp->name_len = len;
			pp->in_value_len = 1;
			continue;
		}
		pp->in_value_len = 0;
		pp->skip = (uint64_t)pp->name_len + len;
		if (pp->skip > pp->longest)
			pp->longest = pp->skip;
	}
}

/* One walk over the record headers, feeding the PARAMS stream as it goes. */
enum record_state
record_request_state(const unsigned char *p, size_t len)
{
	struct pairs	pp;
	size_t		off = 0, content, record, params = 0;
	int		complete = 0;

	memset(&pp, 0, sizeof(pp));
	while (!complete && len - off >= FCGI_HEADER_LEN) {
		if (p[off] != FCGI_VERSION_1)
			return RECORD_INVALID;
		content = ((size_t)p[off + 4] << 8) | p[off + 5];
		record = FCGI_HEADER_LEN + content + p[off + 6];
		if (len - off < record)
			return RECORD_INCOMPLETE;
		if (p[off + 1] == FCGI_PARAMS) {
			params += content;
			pairs_feed(&pp, p + off + FCGI_HEADER_LEN, content);
		}
		if (p[off + 1] == FCGI_STDIN && content == 0)
			complete = 1;
		off += record;
	}
	if (!complete)
		return RECORD_INCOMPLETE;
	/*
	 * Whole: every pair of the PARAMS stream must fit in it (so that
	 * libfcgi's int sum of the two lengths cannot overflow), and the
	 * stream must end exactly with its last pair.
	 */
	if (pp.longest > params || pp.skip != 0 || pp.nlen_bytes != 0 ||
	    pp.in_value_len)
		return RECORD_INVALID;
	return RECORD_COMPLETE;
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
