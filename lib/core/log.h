/* log: levelled, module-tagged log lines to stderr (or a file).
 * Lines operators act on carry a stable id: LOG_E("gateway", "E2001", "...").
 * Check the level before formatting: the macros do. Attacker-controlled text
 * goes through log_escape() or the %s of a value already escaped.
 * Thread-safe: each line is one write(2). */
#ifndef YM_LOG_H
#define YM_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

extern int log_level_current;

void log_set_level(enum log_level lvl);
/* Parses "error", "warn", "info", "debug". Returns 0 or YM_E_INVAL. */
int log_parse_level(const char *s, enum log_level *out);
/* Writes one line: "<time> <LEVEL> <module> [<id> ]<message>". id may be NULL. */
void log_write(enum log_level lvl, const char *module, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Copies s (n bytes) into out (size outsz, always NUL-terminated), replacing
 * control bytes, quotes, backslashes and non-ASCII with \xNN, truncating with
 * "..." when it does not fit. Returns out. */
char *log_escape(const char *s, size_t n, char *out, size_t outsz);

/* Rate limit for lines an attacker can trigger: at most burst lines per
 * interval_s seconds per limiter; returns 1 when the line may be written.
 * Thread-safe. */
struct log_ratelimit {
	long window_start;
	unsigned count;
	unsigned suppressed;
	unsigned burst;
	unsigned interval_s;
};
#define LOG_RATELIMIT_INIT(burst, interval) {0, 0, 0, (burst), (interval)}
int log_ratelimit_ok(struct log_ratelimit *rl);

#define LOG_E(mod, id, ...) log_write(LOG_LVL_ERROR, mod, id, __VA_ARGS__)
#define LOG_W(mod, id, ...)                                                                        \
	do {                                                                                       \
		if (log_level_current >= LOG_LVL_WARN)                                             \
			log_write(LOG_LVL_WARN, mod, id, __VA_ARGS__);                             \
	} while (0)
#define LOG_I(mod, ...)                                                                            \
	do {                                                                                       \
		if (log_level_current >= LOG_LVL_INFO)                                             \
			log_write(LOG_LVL_INFO, mod, NULL, __VA_ARGS__);                           \
	} while (0)
#define LOG_D(mod, ...)                                                                            \
	do {                                                                                       \
		if (log_level_current >= LOG_LVL_DEBUG)                                            \
			log_write(LOG_LVL_DEBUG, mod, NULL, __VA_ARGS__);                          \
	} while (0)

#endif
