/*
 * tap.h: just enough of the Test Anything Protocol for C unit tests.
 * Include it in exactly one file per test program.
 */
#ifndef VISITS_TAP_H
#define VISITS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	tap_count;
static int	tap_failed;

#define ok(cond, ...)	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (!ok(g_ == w_, __VA_ARGS__))					\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)
#define is_u64(got, want, ...) do {					\
	uint64_t g_ = (got), w_ = (want);				\
	if (!ok(g_ == w_, __VA_ARGS__))					\
		printf("#   got %" PRIu64 ", want %" PRIu64 "\n", g_, w_); \
} while (0)
#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (!ok(g_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__))	\
		printf("#   got \"%s\"\n#  want \"%s\"\n",		\
		    g_ ? g_ : "(null)", w_);				\
} while (0)
#define has_str(hay, needle, ...) do {					\
	const char *h_ = (hay), *n_ = (needle);				\
	if (!ok(h_ != NULL && strstr(h_, n_) != NULL, __VA_ARGS__))	\
		printf("#   \"%s\"\n#   does not contain \"%s\"\n",	\
		    h_ ? h_ : "(null)", n_);				\
} while (0)

static int tap_ok(int, const char *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		printf("#   at %s line %d\n", file, line);
		tap_failed++;
	}
	fflush(stdout);
	return pass;
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#endif
