/*
 * check.h: visits-fcgi --check, the liveness check that asks the program
 * over its own socket.
 */
#ifndef VISITS_CHECK_H
#define VISITS_CHECK_H

#include <stddef.h>

/* Below the probe's timeoutSeconds in k8s/chart/templates/statefulset.yaml. */
#define CHECK_TIMEOUT_S		2
#define CHECK_TIMEOUT_MS	(CHECK_TIMEOUT_S * 1000)

int	check_socket(const char *path, char *errbuf, size_t errlen);

#endif
