/*
 * log.h: one JSON object per line on stderr.
 *
 * Every line has "time", "level", "event" (a stable name to grep or alert
 * on) and "msg" (for humans).  The program logs state changes, never one
 * line per request: nginx keeps the access log.
 */
#ifndef VISITS_LOG_H
#define VISITS_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

void	log_event(enum log_level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	fatal(int status, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4), noreturn));
const char *errstr(int errnum, char *storage, size_t size);

#define log_info(...)	log_event(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)	log_event(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...)	log_event(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
