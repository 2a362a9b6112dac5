/* Flags, environment variables and their errors. */
#include "config.h"

#include <stdlib.h>

#include "options.h"
#include "tap.h"

static enum options_result
parse(struct options *opt, char *err, size_t errlen, ...)
{
	char	*argv[16];
	int	 argc = 0;
	va_list	 ap;

	argv[argc++] = "visits-fcgi";
	va_start(ap, errlen);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return options_parse(opt, argc, argv, err, errlen);
}

int
main(void)
{
	struct options	opt;
	char		err[256];
	unsigned	u;

	unsetenv("VISITS_DATA_DIR");
	unsetenv("VISITS_TIMEZONE");
	unsetenv("VISITS_DURABLE");
	unsetenv("VISITS_IO_TIMEOUT");
	unsetenv("VISITS_PEERS");

	is_int(parse(&opt, err, sizeof(err), NULL), OPTIONS_OK, "defaults");
	is_str(opt.data_dir, "/data", "data dir /data");
	is_str(opt.timezone, "Europe/Moscow", "Moscow time");
	ok(opt.durable, "durable by default");
	is_int(opt.io_timeout, 10, "10 s for the rest of a request");
	ok(opt.peers == NULL, "no peers: this pod alone");

	setenv("VISITS_DATA_DIR", "/env/data", 1);
	setenv("VISITS_TIMEZONE", "UTC", 1);
	setenv("VISITS_DURABLE", "0", 1);
	setenv("VISITS_IO_TIMEOUT", "8", 1);
	setenv("VISITS_PEERS", "visits-headless", 1);
	is_int(parse(&opt, err, sizeof(err), NULL), OPTIONS_OK, "env");
	is_str(opt.data_dir, "/env/data", "VISITS_DATA_DIR");
	is_str(opt.timezone, "UTC", "VISITS_TIMEZONE");
	ok(!opt.durable, "VISITS_DURABLE=0");
	is_int(opt.io_timeout, 8, "VISITS_IO_TIMEOUT");
	is_str(opt.peers, "visits-headless", "VISITS_PEERS");

	is_int(parse(&opt, err, sizeof(err), "-d", "/flag", "--durable",
	    "-z", "Asia/Tokyo", "--io-timeout", "0", NULL), OPTIONS_OK,
	    "flags");
	is_str(opt.data_dir, "/flag", "flags beat the environment");
	is_str(opt.timezone, "Asia/Tokyo", "-z");
	ok(opt.durable, "--durable beats VISITS_DURABLE=0");
	is_int(opt.io_timeout, 0, "--io-timeout 0 beats VISITS_IO_TIMEOUT");
	is_int(parse(&opt, err, sizeof(err), "--no-durable", NULL), OPTIONS_OK,
	    "--no-durable");
	ok(!opt.durable, "--no-durable");
	unsetenv("VISITS_IO_TIMEOUT");
	is_int(parse(&opt, err, sizeof(err), "--peers", "", NULL),
	    OPTIONS_OK, "--peers ''");
	ok(opt.peers == NULL, "an empty name is no peers");
	unsetenv("VISITS_PEERS");

	is_int(parse(&opt, err, sizeof(err), "--data-dir=/eq", NULL),
	    OPTIONS_OK, "--opt=value form");
	is_str(opt.data_dir, "/eq", "parsed");
	ok(opt.check_path == NULL, "no --check: serve");

	is_int(parse(&opt, err, sizeof(err), "--check", "/run/v.sock", NULL),
	    OPTIONS_OK, "--check SOCKET");
	is_str(opt.check_path, "/run/v.sock", "--check names the socket");
	is_int(parse(&opt, err, sizeof(err), "--check", NULL), OPTIONS_ERROR,
	    "--check without a socket refused");

	is_int(parse(&opt, err, sizeof(err), "--io-timeout", "86401", NULL),
	    OPTIONS_ERROR, "past the range refused");
	has_str(err, "--io-timeout", "error names the flag");
	has_str(err, "0 to 86400", "and the range");
	is_int(parse(&opt, err, sizeof(err), "--io-timeout", "12x", NULL),
	    OPTIONS_ERROR, "trailing garbage refused");
	is_int(parse(&opt, err, sizeof(err), "--io-timeout", "-1", NULL),
	    OPTIONS_ERROR, "negative refused");
	is_int(parse(&opt, err, sizeof(err), "--io-timeout", "99999999999",
	    NULL), OPTIONS_ERROR, "huge refused");
	is_int(parse(&opt, err, sizeof(err), "--frobnicate", NULL),
	    OPTIONS_ERROR, "unknown flag");
	has_str(err, "--frobnicate", "error names it");
	is_int(parse(&opt, err, sizeof(err), "--data-dir", NULL),
	    OPTIONS_ERROR, "missing value");
	has_str(err, "needs a value", "error says so");
	is_int(parse(&opt, err, sizeof(err), "--socket", "/run/x.sock", NULL),
	    OPTIONS_ERROR, "no --socket: spawn-fcgi binds the socket");
	is_int(parse(&opt, err, sizeof(err), "extra", NULL),
	    OPTIONS_ERROR, "stray argument");
	is_int(parse(&opt, err, sizeof(err), "-d", "", NULL),
	    OPTIONS_ERROR, "empty data dir");

	setenv("VISITS_DURABLE", "maybe", 1);
	is_int(parse(&opt, err, sizeof(err), NULL), OPTIONS_ERROR,
	    "bad VISITS_DURABLE");
	has_str(err, "VISITS_DURABLE", "error names the variable");
	setenv("VISITS_DURABLE", "1", 1);
	setenv("VISITS_IO_TIMEOUT", "lots", 1);
	is_int(parse(&opt, err, sizeof(err), NULL), OPTIONS_ERROR,
	    "bad VISITS_IO_TIMEOUT");
	has_str(err, "VISITS_IO_TIMEOUT", "error names the variable");
	setenv("VISITS_IO_TIMEOUT", "", 1);
	is_int(parse(&opt, err, sizeof(err), NULL), OPTIONS_OK,
	    "an empty variable is one that is not set");
	is_int(opt.io_timeout, 10, "so the default stands");
	unsetenv("VISITS_IO_TIMEOUT");

	ok(parse_unsigned("4294967295", 0, 4294967295u, &u) == 0 &&
	    u == 4294967295u, "parse_unsigned max");
	ok(parse_unsigned("4294967296", 0, 4294967295u, &u) == -1,
	    "parse_unsigned past max");
	ok(parse_unsigned(" 1", 0, 10, &u) == -1, "no leading space");
	ok(parse_unsigned("+1", 0, 10, &u) == -1, "no sign");
	return tap_done();
}
