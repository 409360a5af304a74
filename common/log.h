/* Level-gated logging to stderr, JSON or text, every line tagged with the
 * process role, pid and the current request or job id. Never pass a secret
 * to these macros: lines are not redacted. */
#ifndef EZ_LOG_H
#define EZ_LOG_H

#include <stdarg.h>

enum ez_log_level { EZ_LOG_DEBUG = 0, EZ_LOG_INFO, EZ_LOG_WARN, EZ_LOG_ERROR };

extern int ez_log_threshold;

void ez_log_setup(const char *role, int level, int json);
/* "<3>" for EZ_LOG_ERROR and so on when stderr is the journal, else "":
 * for the messages written before ez_log_setup(). */
const char *ez_log_priority_prefix(int level);
/* The id printed on every line until changed; NULL clears it. Copied. */
void ez_log_set_request_id(const char *id);
void ez_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One access-log line for a finished HTTP request. */
void ez_log_access(const char *method, const char *path, int status,
                   long long latency_us, const char *remote);

#define EZ_LOG_AT(lvl, ...) \
    do { if ((lvl) >= ez_log_threshold) ez_log_write((lvl), __VA_ARGS__); } while (0)
#define log_debug(...) EZ_LOG_AT(EZ_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  EZ_LOG_AT(EZ_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  EZ_LOG_AT(EZ_LOG_WARN, __VA_ARGS__)
#define log_error(...) EZ_LOG_AT(EZ_LOG_ERROR, __VA_ARGS__)

#endif
