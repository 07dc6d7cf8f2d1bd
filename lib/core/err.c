#include "err.h"

const char *ym_strerror(int err)
{
	switch (err) {
	case YM_OK: return "success";
	case YM_E_NOMEM: return "out of memory";
	case YM_E_INVAL: return "invalid argument or input";
	case YM_E_IO: return "I/O error";
	case YM_E_PARSE: return "parse error";
	case YM_E_UNSUPPORTED: return "unsupported";
	case YM_E_TOOBIG: return "too big";
	case YM_E_NOTFOUND: return "not found";
	case YM_E_AUTH: return "not authorised";
	case YM_E_EXISTS: return "already exists";
	case YM_E_CRYPTO: return "cryptographic check failed";
	case YM_E_EXPIRED: return "expired";
	case YM_E_REPLAY: return "replayed";
	case YM_E_TRUNCATED: return "truncated input";
	case YM_E_STALE: return "target changed";
	case YM_E_INTERNAL: return "internal error";
	case YM_E_DB: return "database error";
	case YM_E_NET: return "network error";
	case YM_E_TIMEOUT:
		return "timed out";
	case YM_E_BUSY:
		return "busy";
	}
	return "unknown error";
}
