/*
 * options.c: command-line flags and environment variables.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "options.h"

static enum options_result options_env(struct options *, char *, size_t);
static int	parse_bool(const char *, int *);
static void	usage(FILE *);

enum {
	OPT_DURABLE = 256,
	OPT_NO_DURABLE,
	OPT_IO_TIMEOUT,
	OPT_PEERS,
	OPT_CHECK
};

static const struct option long_options[] = {
	{ "data-dir",	required_argument,	NULL, 'd' },
	{ "timezone",	required_argument,	NULL, 'z' },
	{ "durable",	no_argument,		NULL, OPT_DURABLE },
	{ "no-durable",	no_argument,		NULL, OPT_NO_DURABLE },
	{ "threads",	required_argument,	NULL, 't' },
	{ "io-timeout",	required_argument,	NULL, OPT_IO_TIMEOUT },
	{ "peers",	required_argument,	NULL, OPT_PEERS },
	{ "check",	required_argument,	NULL, OPT_CHECK },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *out)
{
	fprintf(out,
"Usage: visits-fcgi [OPTION]...\n"
"Serve the Moscow time and a persistent visit counter over FastCGI.\n"
"\n"
"Serves the listening socket inherited on fd 0, as spawn-fcgi hands it\n"
"over: start it with visits-serve, which runs spawn-fcgi.\n"
"\n"
"  -d, --data-dir DIR       directory of the counter file DIR/visits\n"
"                           [VISITS_DATA_DIR, default %s]\n"
"  -z, --timezone ZONE      time zone of /time and / [VISITS_TIMEZONE,\n"
"                           default %s]\n"
"      --durable            sync file and directory before answering a\n"
"                           visit [VISITS_DURABLE=1, the default]\n"
"      --no-durable         sync the new count's data, not the directory:\n"
"                           a power loss may lose the latest visits, never\n"
"                           the file [VISITS_DURABLE=0]\n"
"  -t, --threads N          request threads; one serves any number of\n"
"                           connections (epoll), visits and readiness\n"
"                           checks wait for the disk without holding it;\n"
"                           more use more cores [VISITS_THREADS, default %d,\n"
"                           1..%d]\n"
"      --io-timeout SECONDS drop a FastCGI connection that stalls this long\n"
"                           in the middle of a request; 0 waits forever\n"
"                           [VISITS_IO_TIMEOUT, default %d]\n"
"      --peers NAME         the DNS name that lists every pod (the\n"
"                           headless Service, e.g. visits-headless): GET\n"
"                           /cluster shows each one's /visits, asked on\n"
"                           port %d in the background, at most once a\n"
"                           second while someone asks, %d ms at most;\n"
"                           unset or empty: this pod alone [VISITS_PEERS]\n"
"      --check SOCKET       ask the program serving SOCKET for /healthz\n"
"                           over FastCGI; exit 0 on a 200 within %d s, else\n"
"                           1 (the liveness check: visits-serve --check)\n"
"  -h, --help               show this help and exit\n"
"  -V, --version            show the version and exit\n"
"\n"
"SIGTERM or SIGINT: stop accepting, finish the requests in flight, make the\n"
"count durable, remove the socket and exit 0.\n",
	    DEFAULT_DATA_DIR, DEFAULT_TIMEZONE, DEFAULT_THREADS, MAX_THREADS,
	    DEFAULT_IO_TIMEOUT, CLUSTER_PORT, CLUSTER_DEADLINE_MS,
	    CHECK_TIMEOUT_MS / 1000);
}

/* Like OpenBSD's strtonum(): the whole string, in range, or failure. */
int
parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char		*end;
	unsigned long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "yes") == 0 || strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static enum options_result
options_env(struct options *opt, char *errbuf, size_t errlen)
{
	const char	*v;

	if ((v = getenv("VISITS_DATA_DIR")) != NULL && *v != '\0')
		opt->data_dir = v;
	if ((v = getenv("VISITS_TIMEZONE")) != NULL && *v != '\0')
		opt->timezone = v;
	if ((v = getenv("VISITS_PEERS")) != NULL)
		opt->peers = v;
	if ((v = getenv("VISITS_DURABLE")) != NULL && *v != '\0' &&
	    parse_bool(v, &opt->durable) == -1) {
		snprintf(errbuf, errlen, "VISITS_DURABLE: '%s' is not one of "
		    "1, 0, true, false, yes, no, on, off", v);
		return OPTIONS_ERROR;
	}
	if ((v = getenv("VISITS_THREADS")) != NULL && *v != '\0' &&
	    parse_unsigned(v, 1, MAX_THREADS, &opt->threads) == -1) {
		snprintf(errbuf, errlen, "VISITS_THREADS: '%s' is not a "
		    "number from 1 to %d", v, MAX_THREADS);
		return OPTIONS_ERROR;
	}
	if ((v = getenv("VISITS_IO_TIMEOUT")) != NULL && *v != '\0' &&
	    parse_unsigned(v, 0, 86400, &opt->io_timeout) == -1) {
		snprintf(errbuf, errlen, "VISITS_IO_TIMEOUT: '%s' is not a "
		    "number of seconds from 0 to 86400", v);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

enum options_result
options_parse(struct options *opt, int argc, char **argv, char *errbuf,
    size_t errlen)
{
	int	ch;

	memset(opt, 0, sizeof(*opt));
	opt->data_dir = DEFAULT_DATA_DIR;
	opt->timezone = DEFAULT_TIMEZONE;
	opt->durable = 1;
	opt->threads = DEFAULT_THREADS;
	opt->io_timeout = DEFAULT_IO_TIMEOUT;

	if (options_env(opt, errbuf, errlen) != OPTIONS_OK)
		return OPTIONS_ERROR;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":d:z:t:hV", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			opt->data_dir = optarg;
			break;
		case 'z':
			opt->timezone = optarg;
			break;
		case OPT_DURABLE:
			opt->durable = 1;
			break;
		case OPT_NO_DURABLE:
			opt->durable = 0;
			break;
		case 't':
			if (parse_unsigned(optarg, 1, MAX_THREADS,
			    &opt->threads) == -1) {
				snprintf(errbuf, errlen, "--threads: '%s' is "
				    "not a number from 1 to %d", optarg,
				    MAX_THREADS);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_PEERS:
			opt->peers = optarg;
			break;
		case OPT_IO_TIMEOUT:
			if (parse_unsigned(optarg, 0, 86400,
			    &opt->io_timeout) == -1) {
				snprintf(errbuf, errlen, "--io-timeout: '%s' "
				    "is not a number of seconds from 0 to "
				    "86400", optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_CHECK:
			opt->check_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return OPTIONS_EXIT;
		case 'V':
			printf("visits-fcgi %s\n", PACKAGE_VERSION);
			return OPTIONS_EXIT;
		case ':':
			snprintf(errbuf, errlen, "option '%s' needs a value "
			    "(see --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		default:
			snprintf(errbuf, errlen, "unknown option '%s' "
			    "(see --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(errbuf, errlen, "unexpected argument '%s' "
		    "(see --help)", argv[optind]);
		return OPTIONS_ERROR;
	}
	if (opt->peers != NULL && *opt->peers == '\0')
		opt->peers = NULL;
	if (*opt->data_dir == '\0') {
		snprintf(errbuf, errlen, "the data directory is empty");
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}
