/*
 * clock.c: local time in the configured zone.
 *
 * glibc silently falls back to UTC for a zone name it cannot find, which
 * would show a wrong "Moscow time" with no error anywhere.  So a zone name
 * must exist in the zoneinfo database; a POSIX TZ string (one with a digit
 * and no slash, such as "MSK-3") needs no database and is taken as it is.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"

int
clock_set_zone(const char *zone, char *errbuf, size_t errlen)
{
	const char	*name = zone[0] == ':' ? zone + 1 : zone;
	const char	*dir;
	char		 path[4096];
	struct stat	 st;

	if (*name == '\0' || strstr(name, "..") != NULL) {
		snprintf(errbuf, errlen, "time zone '%s' is not valid", zone);
		return -1;
	}
	/* Not a POSIX TZ string: a zone name, a file of the database. */
	if (strpbrk(name, "0123456789") == NULL || strchr(name, '/') != NULL) {
		if (name[0] == '/')
			snprintf(path, sizeof(path), "%s", name);
		else {
			dir = getenv("TZDIR");
			if (dir == NULL || *dir == '\0')
				dir = "/usr/share/zoneinfo";
			snprintf(path, sizeof(path), "%s/%s", dir, name);
		}
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
			snprintf(errbuf, errlen, "time zone '%s' not found "
			    "(no file %s; is tzdata installed?)", zone, path);
			return -1;
		}
	}
	if (setenv("TZ", zone, 1) == -1) {
		snprintf(errbuf, errlen, "setenv TZ failed");
		return -1;
	}
	tzset();
	return 0;
}

void
clock_format_hms(time_t t, char out[CLOCK_HMS_LEN + 1])
{
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, CLOCK_HMS_LEN + 1, "%H:%M:%S", &tm) !=
	    CLOCK_HMS_LEN)
		memcpy(out, "00:00:00", CLOCK_HMS_LEN + 1);
}

/* Each thread formats a given second once: localtime_r() takes a lock. */
void
clock_now_hms(char out[CLOCK_HMS_LEN + 1])
{
	static __thread time_t	cached_sec = -1;
	static __thread char	cached[CLOCK_HMS_LEN + 1];
	time_t			now = time(NULL);

	if (now != cached_sec) {
		clock_format_hms(now, cached);
		cached_sec = now;
	}
	memcpy(out, cached, CLOCK_HMS_LEN + 1);
}

/* Nanoseconds that only go forward: for timeouts and durations. */
long long
clock_monotonic_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
