/*
 * The cluster view: a pod's answer read, and a view made by the real
 * background thread for a name that lists no pod.
 */
#include "config.h"

#include <unistd.h>

#include "cluster.h"
#include "tap.h"

#define NGINX_HEAD \
	"HTTP/1.1 200 OK\r\nServer: nginx\r\n" \
	"Content-Type: application/json\r\nContent-Length: 14\r\n" \
	"Connection: close\r\nCache-Control: no-store\r\n"

static const char *
parse(const char *answer, uint64_t *v, char *name)
{
	return cluster_parse_answer(answer, strlen(answer), v, name,
	    CLUSTER_NAME_LEN);
}

int
main(void)
{
	struct cluster			*c;
	const struct cluster_view	*v = NULL;
	char				 name[CLUSTER_NAME_LEN], err[256];
	uint64_t			 n = 0;
	int				 i;

	ok(parse(NGINX_HEAD "X-Served-By: visits-1\r\n\r\n{\"visits\":16}\n",
	    &n, name) == NULL, "nginx's answer to /visits is read");
	is_u64(n, 16, "its count");
	is_str(name, "visits-1", "the pod's name from X-Served-By");
	ok(parse(NGINX_HEAD "x-served-by:visits-2\r\n\r\n{\"visits\":0}",
	    &n, name) == NULL && n == 0, "header names in any case");
	is_str(name, "visits-2", "its value");
	ok(parse(NGINX_HEAD "\r\n{\"visits\":18446744073709551615}", &n,
	    name) == NULL && n == UINT64_MAX, "the largest count");
	is_str(name, "", "no X-Served-By: no name");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":18446744073709551616}",
	    &n, name), "range", "a count that does not fit");
	has_str(parse("HTTP/1.1 503 Service Unavailable\r\n\r\n"
	    "{\"error\":\"disk\"}", &n, name), "HTTP error", "a 503");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":}", &n, name), "no count",
	    "no digits");
	has_str(parse(NGINX_HEAD "\r\n{\"visits\":12", &n, name), "no count",
	    "a cut body");
	has_str(parse(NGINX_HEAD "X-Served-By: visits-1", &n, name),
	    "incomplete", "cut headers");
	has_str(parse("SSH-2.0-OpenSSH\r\n", &n, name), "not an HTTP",
	    "not HTTP");
	ok(parse(NGINX_HEAD "X-Served-By: <b>x</b>\r\n\r\n{\"visits\":1}",
	    &n, name) == NULL, "a name that is not a host name");
	is_str(name, "", "is dropped");

	c = cluster_start("no-such-service.invalid", VISITS_HTTP_PORT, "visits-0",
	    err, sizeof(err));
	ok(c != NULL, "the thread starts");
	for (i = 0; i < 200 && c != NULL; i++) {
		v = cluster_acquire(c);
		if (v != NULL)
			break;
		usleep(50000);
	}
	ok(v != NULL, "a first view is published without anyone asking");
	if (v != NULL) {
		is_int(v->n, 1, "a name that does not resolve: this pod alone");
		ok(v->pods[0].self, "marked as this pod");
		is_str(v->pods[0].name, "visits-0", "by its host name");
		has_str(v->error, "no-such-service.invalid", "the view says "
		    "which name failed");
	}
	cluster_release(c, v);
	cluster_stop(c);
	return tap_done();
}
