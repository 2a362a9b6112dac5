/*
 * clock.h: the wall-clock time in the configured zone, as HH:MM:SS, and
 * the monotonic clock that timeouts and durations use.
 */
#ifndef VISITS_CLOCK_H
#define VISITS_CLOCK_H

#include <stddef.h>
#include <time.h>

#define CLOCK_HMS_LEN	8	/* "18:53:13" */
#define NS_PER_MS	1000000LL	/* for clock_monotonic_ns() */
#define NS_PER_S	1000000000LL

int	clock_set_zone(const char *zone, char *errbuf, size_t errlen);
void	clock_format_hms(time_t, char out[CLOCK_HMS_LEN + 1]);
void	clock_now_hms(char out[CLOCK_HMS_LEN + 1]);
long long clock_monotonic_ns(void);

#endif
