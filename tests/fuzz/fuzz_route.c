/*
 * fuzz_route.c: libFuzzer target for the pure parsers: route_find,
 * route_need, method_match and store_parse_count.
 *
 * Oracles beyond the sanitizers:
 *   - a matched route is exactly one of the known paths, and routing
 *     ignores everything from the first '?' or '#';
 *   - only a GET of / or /time stores a visit;
 *   - GET/HEAD are recognised exactly, nothing else is;
 *   - store_parse_count accepts exactly the canonical decimal numbers
 *     (no leading zero, at most UINT64_MAX, one optional final newline):
 *     an accepted input prints back to itself, and a refused one always
 *     says why, even into a tiny buffer.
 *
 * Build and run: tests/fuzz/run.sh (./dev fuzz).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_route: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

static const char *const paths[] = {
	"/", "/time", "/visits", "/healthz", "/readyz", "/metrics", "/cluster"
};

static void
check_route(const char *s)
{
	const struct route	*r;
	size_t			 plen, i;
	int			 known = -1;

	plen = strcspn(s, "?#");
	r = route_find(s);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strlen(paths[i]) == plen && memcmp(paths[i], s, plen) == 0)
			known = (int)i;
	if (known == -1)
		CHECK(r->path == NULL);
	else
		CHECK(r->path != NULL && strcmp(r->path, paths[known]) == 0);
	CHECK(route_label(r) != NULL && r->write != NULL);
	if (route_need(r, METHOD_GET) == NEED_VISIT)
		CHECK(known == 0 || known == 1);	/* / and /time */
	if (route_need(r, METHOD_GET) == NEED_VIEW)
		CHECK(known == 6);			/* /cluster alone */
	CHECK(route_need(r, METHOD_HEAD) != NEED_VISIT);
	CHECK(route_need(r, METHOD_OTHER) == NEED_NOTHING);
}

static void
check_method(const char *s)
{
	enum method	m = method_match(s);

	if (strcmp(s, "GET") == 0)
		CHECK(m == METHOD_GET);
	else if (strcmp(s, "HEAD") == 0)
		CHECK(m == METHOD_HEAD);
	else
		CHECK(m == METHOD_OTHER);
}

static void
check_count(const uint8_t *data, size_t size)
{
	char		why[128], tiny[4], back[32];
	uint64_t	v = 12345, v2 = 0;
	int		rc, rc2, n;
	size_t		digits;

	why[0] = '\0';
	rc = store_parse_count((const char *)data, size, &v, why,
	    sizeof(why));
	rc2 = store_parse_count((const char *)data, size, &v2, tiny,
	    sizeof(tiny));
	CHECK(rc == rc2);
	if (rc != 0) {
		CHECK(rc == -1);
		CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
		CHECK(memchr(tiny, '\0', sizeof(tiny)) != NULL);
		return;
	}
	CHECK(v == v2);
	/* Accepted: the canonical spelling, with or without a newline. */
	digits = size > 0 && data[size - 1] == '\n' ? size - 1 : size;
	n = snprintf(back, sizeof(back), "%" PRIu64, v);
	CHECK(n > 0 && (size_t)n == digits);
	CHECK(memcmp(back, data, digits) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *nl;

	/* The raw bytes as a counter file. */
	check_count(data, size);

	/* As a C string (libfcgi's params are NUL-terminated). */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_route(s);
	check_method(s);
	/* First line a method, the rest a URI: both parsers on one input. */
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		check_method(s);
		check_route(nl + 1);
	}
	free(s);
	return 0;
}
