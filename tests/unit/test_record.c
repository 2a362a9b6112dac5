/* FastCGI records: whole-request detection, the PARAMS guard, answers. */
#include "config.h"

#include <fastcgi.h>
#include <sys/socket.h>
#include <unistd.h>

#include "record.h"
#include "tap.h"

static unsigned char	req[200000];
static size_t		req_len;

/* A record as record.c puts it, with `padding` bytes after it. */
static void
add_record(int type, const unsigned char *content, size_t n, int padding)
{
	unsigned char	*h = req + req_len;

	req_len += record_put(h, type, 1, content, n);
	h[6] = (unsigned char)padding;
	memset(req + req_len, 0, (size_t)padding);
	req_len += (size_t)padding;
}

static void
begin(void)
{
	static const unsigned char body[8] = { 0, FCGI_RESPONDER,
	    FCGI_KEEP_CONN, 0, 0, 0, 0, 0 };

	req_len = 0;
	add_record(FCGI_BEGIN_REQUEST, body, sizeof(body), 0);
}

int
main(void)
{
	unsigned char	params[70000], got[140000];
	char		big[300];
	size_t		n, full, i;
	int		fds[2], prefixes_ok = 1;
	ssize_t		r;

	/* A request as nginx sends it. */
	begin();
	n = record_put_pair(params, "REQUEST_METHOD", "GET");
	n += record_put_pair(params + n, "DOCUMENT_URI", "/time");
	add_record(FCGI_PARAMS, params, n, 3);
	add_record(FCGI_PARAMS, NULL, 0, 0);
	add_record(FCGI_STDIN, NULL, 0, 0);
	full = req_len;
	is_int(record_request_state(req, full), RECORD_COMPLETE,
	    "a whole request is complete");
	for (i = 0; i < full; i++)
		if (record_request_state(req, i) != RECORD_INCOMPLETE)
			prefixes_ok = 0;
	ok(prefixes_ok, "every shorter prefix is incomplete");
	req[0] = 2;
	is_int(record_request_state(req, full), RECORD_INVALID,
	    "version 2 is refused");

	/* A pair split over two PARAMS records, with a long value. */
	begin();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = record_put_pair(params, "REQUEST_URI", big);
	add_record(FCGI_PARAMS, params, 5, 0);
	add_record(FCGI_PARAMS, params + 5, n - 5, 1);
	add_record(FCGI_PARAMS, NULL, 0, 0);
	add_record(FCGI_STDIN, NULL, 0, 0);
	is_int(record_request_state(req, req_len), RECORD_COMPLETE,
	    "a pair split across records, 4-byte lengths: complete");

	/* libfcgi's int overflow: 1 GiB + 1 GiB in 26 bytes. */
	begin();
	{
		static const unsigned char evil[10] = { 0xc0, 0, 0, 0,
		    0xc0, 0, 0, 0, 'A', 'B' };

		add_record(FCGI_PARAMS, evil, sizeof(evil), 6);
	}
	is_int(record_request_state(req, req_len), RECORD_INCOMPLETE,
	    "1 GiB + 1 GiB: no STDIN end yet, incomplete");
	add_record(FCGI_STDIN, NULL, 0, 0);
	is_int(record_request_state(req, req_len), RECORD_INVALID,
	    "1 GiB + 1 GiB pair is refused before libfcgi sees it");

	/* A pair just one byte longer than its stream. */
	begin();
	n = record_put_pair(params, "A", "bc");
	params[1] = 3;		/* value claims 3 bytes, 2 are there */
	add_record(FCGI_PARAMS, params, n, 0);
	add_record(FCGI_PARAMS, NULL, 0, 0);
	add_record(FCGI_STDIN, NULL, 0, 0);
	is_int(record_request_state(req, req_len), RECORD_INVALID,
	    "a pair longer than the PARAMS stream is refused");

	/* An answer: STDOUT records, end of STDOUT, END_REQUEST. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok(record_send_answer(fds[0], 7, "Status: 200 OK\r\n\r\n", 18, "hi",
	    2) == 0, "answer sent");
	r = read(fds[1], got, sizeof(got));
	is_int(r, 8 + 18 + 8 + 2 + 8 + 16, "headers, body, end, END_REQUEST");
	ok(got[0] == 1 && got[1] == FCGI_STDOUT && got[3] == 7 &&
	    got[5] == 18, "first record: STDOUT, id 7, 18 bytes");
	ok(memcmp(got + 8, "Status: 200 OK", 14) == 0, "the headers");
	ok(got[26 + 1] == FCGI_STDOUT && got[26 + 5] == 2 &&
	    memcmp(got + 34, "hi", 2) == 0, "then the body");
	ok(got[36 + 1] == FCGI_STDOUT && got[36 + 4] == 0 && got[36 + 5] == 0,
	    "an empty STDOUT ends the stream");
	ok(got[44 + 1] == FCGI_END_REQUEST && got[44 + 5] == 8 &&
	    got[44 + 8 + 4] == FCGI_REQUEST_COMPLETE, "END_REQUEST, complete");

	/* A body over 65535 bytes goes in two records. */
	memset(params, 'b', 70000);
	ok(record_send_answer(fds[0], 1, "H", 1, (char *)params, 70000) == 0,
	    "a 70000-byte answer is sent");
	for (n = 0; n < 8 + 1 + 8 + 65535 + 8 + 4465 + 8 + 16; n += (size_t)r)
		if ((r = read(fds[1], got + n, sizeof(got) - n)) <= 0)
			break;
	ok(n == 8 + 1 + 8 + 65535 + 8 + 4465 + 8 + 16 &&
	    got[9 + 4] == 0xff && got[9 + 5] == 0xff,
	    "split at 65535 bytes (%zu bytes in all)", n);

	/* A peer that does not read: the send fails, it never blocks. */
	{
		int	i2, failed = 0;

		for (i2 = 0; i2 < 100 && !failed; i2++)
			failed = record_send_answer(fds[0], 1, "H", 1,
			    (char *)params, 60000) == -1;
		ok(failed, "a full socket buffer fails the send at once");
	}
	close(fds[0]);
	close(fds[1]);
	return tap_done();
}
