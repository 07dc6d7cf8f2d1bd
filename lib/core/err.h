/* Project-wide error codes. Functions that can fail return int: 0 or one of
 * these negative values. Results go through out-parameters set only on success. */
#ifndef YM_ERR_H
#define YM_ERR_H

#define YM_OK		   0
#define YM_E_NOMEM	   -1  /* allocation failed */
#define YM_E_INVAL	   -2  /* bad argument or malformed input */
#define YM_E_IO		   -3  /* system call or file I/O failed; errno is kept */
#define YM_E_PARSE	   -4  /* input could not be parsed */
#define YM_E_UNSUPPORTED   -5  /* well-formed, but uses something not implemented */
#define YM_E_TOOBIG	   -6  /* input or buffer over its hard cap */
#define YM_E_NOTFOUND	   -7  /* no such object */
#define YM_E_AUTH	   -8  /* authentication or authorisation failed */
#define YM_E_EXISTS	   -9  /* object already exists */
#define YM_E_CRYPTO	   -10 /* signature, certificate or key operation failed */
#define YM_E_EXPIRED	   -11 /* past its expiry time */
#define YM_E_REPLAY	   -12 /* nonce or sequence already seen */
#define YM_E_TRUNCATED	   -13 /* input ended before a complete item */
#define YM_E_STALE	   -14 /* target changed (e.g. pid reused) */
#define YM_E_INTERNAL	   -15 /* invariant broken: a bug */
#define YM_E_DB		   -16 /* database error */
#define YM_E_NET	   -17 /* network or HTTP transfer failed */
#define YM_E_TIMEOUT	   -18 /* no answer within its time bound */
#define YM_E_BUSY	   -19 /* refused: a bound on what is held is reached */

/* Returns a static, human-readable name for an error code ("out of memory").
 * Never NULL; unknown codes map to "unknown error". Thread-safe. */
const char *ym_strerror(int err);

#endif
