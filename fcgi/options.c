/*
 * options.c: the settings table, and the flags, environment variables
 * and --help made from it.
 *
 * A setting is one row: its flags, its environment variable, its kind
 * and range, its default and its help.  The defaults, then the
 * environment, then the flags are applied through the same code, so a
 * value means the same wherever it comes from.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "cluster.h"
#include "options.h"

#define STR(x)		#x
#define XSTR(x)		STR(x)
#define HELP_COLUMN	27	/* where the help of a setting starts */
#define HELP_WIDTH	79
#define LONG_BASE	256	/* getopt's value for row i: LONG_BASE + i */
#define NO_BASE		512	/* and for --no-NAME of a yes/no row */

enum kind {
	KIND_STRING,		/* taken as it is */
	KIND_UINT,		/* a whole number from min to max */
	KIND_BOOL,		/* --NAME, --no-NAME; 1/0 and the like */
	KIND_HELP,
	KIND_VERSION
};

struct setting {
	const char	*name;		/* --name */
	int		 letter;	/* -l, or 0 */
	const char	*env;		/* or NULL */
	enum kind	 kind;
	size_t		 offset;	/* of the value in struct options */
	unsigned	 min, max;	/* KIND_UINT */
	const char	*def;		/* the default, as a value; or NULL */
	const char	*arg;		/* the value's name in --help */
	const char	*help;
};

#define AT(field)	offsetof(struct options, field)

static const struct setting settings[] = {
	{ "data-dir", 'd', "VISITS_DATA_DIR", KIND_STRING, AT(data_dir), 0, 0,
	  "/data", "DIR", "directory of the counter file DIR/visits" },
	{ "timezone", 'z', "VISITS_TIMEZONE", KIND_STRING, AT(timezone), 0, 0,
	  "Europe/Moscow", "ZONE", "time zone of /time and /" },
	{ "durable", 0, "VISITS_DURABLE", KIND_BOOL, AT(durable), 0, 1,
	  "1", NULL, "sync the counter file and its directory before "
	  "answering a visit; --no-durable syncs the new count's data, not "
	  "the directory: a power loss may lose the latest visits, never "
	  "the file" },
	{ "io-timeout", 0, "VISITS_IO_TIMEOUT", KIND_UINT, AT(io_timeout),
	  0, 86400, "10", "SECONDS", "drop a FastCGI connection that stalls "
	  "this long in the middle of a request; 0 waits forever" },
	{ "peers", 0, "VISITS_PEERS", KIND_STRING, AT(peers), 0, 0,
	  NULL, "NAME", "the DNS name that lists every pod (the headless "
	  "Service, e.g. visits-headless): GET /cluster shows each one's "
	  "/visits, asked on port " XSTR(VISITS_HTTP_PORT) " when a "
	  "request finds the last answers over " XSTR(CLUSTER_REFRESH_MS)
	  " ms old (so at most once a second), " XSTR(CLUSTER_DEADLINE_MS)
	  " ms at most; unset or empty: this pod alone" },
	{ "check", 0, NULL, KIND_STRING, AT(check_path), 0, 0,
	  NULL, "SOCKET", "ask the program serving SOCKET for /healthz over "
	  "FastCGI; exit 0 on a 200 within " XSTR(CHECK_TIMEOUT_S) " s, "
	  "else 1 (the liveness check: visits-serve --check)" },
	{ "help", 'h', NULL, KIND_HELP, 0, 0, 0,
	  NULL, NULL, "show this help and exit" },
	{ "version", 'V', NULL, KIND_VERSION, 0, 0, 0,
	  NULL, NULL, "show the version and exit" },
};

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

static int	apply(struct options *, const struct setting *, const char *,
		    const char *from, char *, size_t);
static int	parse_bool(const char *, int *);
static void	put_wrapped(FILE *, const char *left, const char *text);
static void	usage(FILE *);

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

/* The setting takes `value`, which came `from` a flag or a variable. */
static int
apply(struct options *opt, const struct setting *s, const char *value,
    const char *from, char *errbuf, size_t errlen)
{
	char	*field = (char *)opt + s->offset;

	switch (s->kind) {
	case KIND_STRING:
		*(const char **)(void *)field = value;
		return 0;
	case KIND_UINT:
		if (parse_unsigned(value, s->min, s->max,
		    (unsigned *)(void *)field) == 0)
			return 0;
		snprintf(errbuf, errlen, "%s: '%s' is not a whole number "
		    "from %u to %u", from, value, s->min, s->max);
		return -1;
	case KIND_BOOL:
		if (parse_bool(value, (int *)(void *)field) == 0)
			return 0;
		snprintf(errbuf, errlen, "%s: '%s' is not one of 1, 0, true, "
		    "false, yes, no, on, off", from, value);
		return -1;
	default:
		return 0;
	}
}

/* `left`, then `text` from HELP_COLUMN on, wrapped at HELP_WIDTH. */
static void
put_wrapped(FILE *out, const char *left, const char *text)
{
	size_t	col = strlen(left), w;

	fputs(left, out);
	if (col >= HELP_COLUMN) {
		fputc('\n', out);
		col = 0;
	}
	fprintf(out, "%*s", (int)(HELP_COLUMN - col), "");
	col = HELP_COLUMN;
	while (*text != '\0') {
		w = strcspn(text, " ");
		if (col > HELP_COLUMN && col + 1 + w > HELP_WIDTH) {
			fprintf(out, "\n%*s", HELP_COLUMN, "");
			col = HELP_COLUMN;
		} else if (col > HELP_COLUMN) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, w, out);
		col += w;
		text += w + strspn(text + w, " ");
	}
	fputc('\n', out);
}

static void
usage(FILE *out)
{
	const struct setting	*s;
	struct buf		 left, text;
	char			 lbuf[64], tbuf[1024];

	fputs("Usage: visits-fcgi [OPTION]...\n"
	    "Serve the Moscow time and a persistent visit counter over "
	    "FastCGI.\n\n"
	    "Serves the listening socket inherited on fd 0, as spawn-fcgi "
	    "hands it\nover: start it with visits-serve, which runs "
	    "spawn-fcgi.\n\n", out);
	for (s = settings; s < settings + NSETTINGS; s++) {
		buf_init(&left, lbuf, sizeof(lbuf));
		if (s->letter != 0)
			buf_printf(&left, "  -%c, ", s->letter);
		else
			buf_puts(&left, "      ");
		buf_printf(&left, "--%s", s->name);
		if (s->kind == KIND_BOOL)
			buf_printf(&left, ", --no-%s", s->name);
		if (s->arg != NULL)
			buf_printf(&left, " %s", s->arg);
		buf_init(&text, tbuf, sizeof(tbuf));
		buf_puts(&text, s->help);
		if (s->env != NULL) {
			buf_printf(&text, " [%s", s->env);
			if (s->def != NULL)
				buf_printf(&text, ", default %s", s->def);
			if (s->kind == KIND_UINT)
				buf_printf(&text, ", %u to %u", s->min,
				    s->max);
			buf_puts(&text, "]");
		}
		put_wrapped(out, left.data, text.data);
	}
	fputs("\nSIGTERM or SIGINT: stop accepting, finish the requests in "
	    "flight, make the\ncount durable, remove the socket and exit 0.\n",
	    out);
}

enum options_result
options_parse(struct options *opt, int argc, char **argv, char *errbuf,
    size_t errlen)
{
	static char		 no_names[NSETTINGS][32];
	struct option		 longopts[2 * NSETTINGS + 1];
	const struct setting	*s;
	char			 shortopts[2 * NSETTINGS + 2], flag[40];
	const char		*v;
	size_t			 i, n = 0, ns = 0;
	int			 ch;

	memset(opt, 0, sizeof(*opt));
	memset(longopts, 0, sizeof(longopts));
	shortopts[ns++] = ':';
	for (i = 0; i < NSETTINGS; i++) {
		s = &settings[i];
		if (s->def != NULL && apply(opt, s, s->def, "default",
		    errbuf, errlen) == -1)
			return OPTIONS_ERROR;
		/* An empty variable is one that is not set. */
		if (s->env != NULL && (v = getenv(s->env)) != NULL &&
		    *v != '\0' && apply(opt, s, v, s->env, errbuf,
		    errlen) == -1)
			return OPTIONS_ERROR;
		longopts[n].name = s->name;
		longopts[n].has_arg = s->arg != NULL ? required_argument :
		    no_argument;
		longopts[n++].val = LONG_BASE + (int)i;
		if (s->kind == KIND_BOOL) {
			snprintf(no_names[i], sizeof(no_names[i]), "no-%s",
			    s->name);
			longopts[n].name = no_names[i];
			longopts[n++].val = NO_BASE + (int)i;
		}
		if (s->letter != 0) {
			shortopts[ns++] = (char)s->letter;
			if (s->arg != NULL)
				shortopts[ns++] = ':';
		}
	}
	shortopts[ns] = '\0';

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (ch == ':') {
			snprintf(errbuf, errlen, "option '%s' needs a value "
			    "(see --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
		for (s = NULL, i = 0; i < NSETTINGS; i++)
			if (ch == LONG_BASE + (int)i ||
			    ch == NO_BASE + (int)i || ch == settings[i].letter)
				s = &settings[i];
		if (s == NULL) {
			snprintf(errbuf, errlen, "unknown option '%s' "
			    "(see --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
		if (s->kind == KIND_HELP) {
			usage(stdout);
			return OPTIONS_EXIT;
		}
		if (s->kind == KIND_VERSION) {
			printf("visits-fcgi %s\n", PACKAGE_VERSION);
			return OPTIONS_EXIT;
		}
		snprintf(flag, sizeof(flag), "--%s", s->name);
		if (apply(opt, s, s->kind != KIND_BOOL ? optarg :
		    ch >= NO_BASE ? "0" : "1", flag, errbuf, errlen) == -1)
			return OPTIONS_ERROR;
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
