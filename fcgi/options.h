/*
 * options.h: the program's settings, from defaults, environment variables
 * and flags (flags win), all read from one table (options.c).  Parsing is
 * separate from main() so that it can be tested.
 */
#ifndef VISITS_OPTIONS_H
#define VISITS_OPTIONS_H

#include <stddef.h>

struct options {
	const char	*data_dir;
	const char	*timezone;
	const char	*peers;		/* headless Service name, or NULL */
	int		 durable;
	unsigned	 io_timeout;	/* seconds, 0 = none */
	const char	*check_path;	/* --check: only check that socket */
};

enum options_result {
	OPTIONS_OK,
	OPTIONS_EXIT,		/* --help or --version printed: exit 0 */
	OPTIONS_ERROR		/* message in errbuf: exit 2 */
};

enum options_result options_parse(struct options *, int, char **,
		    char *errbuf, size_t errlen);
int		parse_unsigned(const char *, unsigned, unsigned, unsigned *);

#endif
