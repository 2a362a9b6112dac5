/* Time zone handling and HH:MM:SS formatting. */
#include "config.h"

#include "clock.h"
#include "tap.h"

int
main(void)
{
	char	err[256], hms[CLOCK_HMS_LEN + 1];

	ok(clock_set_zone("Europe/Moscow", err, sizeof(err)) == 0,
	    "Europe/Moscow exists (tzdata)");
	clock_format_hms(0, hms);
	is_str(hms, "03:00:00", "the epoch is 03:00:00 in Moscow");
	clock_format_hms(1700000000, hms);
	is_str(hms, "01:13:20", "2023-11-14T22:13:20Z is 01:13:20 MSK");
	/* 2011-01-01T12:00:00Z: Moscow was UTC+3 then, no DST in winter. */
	clock_format_hms(1293883200, hms);
	is_str(hms, "15:00:00", "historical offsets come from tzdata");

	ok(clock_set_zone("UTC", err, sizeof(err)) == 0, "UTC");
	clock_format_hms(1700000000, hms);
	is_str(hms, "22:13:20", "UTC time");

	ok(clock_set_zone("MSK-3", err, sizeof(err)) == 0,
	    "a POSIX TZ string needs no database");
	clock_format_hms(1700000000, hms);
	is_str(hms, "01:13:20", "MSK-3 is UTC+3");

	ok(clock_set_zone("Europe/Atlantis", err, sizeof(err)) == -1,
	    "an unknown zone is refused, not silently UTC");
	has_str(err, "Europe/Atlantis", "the error names the zone");
	ok(clock_set_zone("../../etc/passwd", err, sizeof(err)) == -1,
	    "no path tricks");
	ok(clock_set_zone("", err, sizeof(err)) == -1, "empty zone");

	ok(clock_set_zone("Europe/Moscow", err, sizeof(err)) == 0, "again");
	clock_now_hms(hms);
	ok(strlen(hms) == 8 && hms[2] == ':' && hms[5] == ':',
	    "now is HH:MM:SS (%s)", hms);
	return tap_done();
}
