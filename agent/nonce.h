/* nonce: the agent's store of command nonces already accepted, so a signed
 * command is run at most once. Each nonce is kept (in memory and on disk)
 * until its command's expiry, after which command_check refuses the command
 * anyway. The store holds at most cap live nonces: when full, new commands
 * are refused rather than a live nonce forgotten. Every accepted nonce is
 * persisted (temp file, fsync, rename) before nonce_use returns 0, so a
 * restart cannot replay it. Not thread-safe: owned by the command thread. */
#ifndef YM_AGENT_NONCE_H
#define YM_AGENT_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define NONCE_HEX_LEN 32

struct nonce_store;

/* Opens (or creates on first use) the store at path, dropping nonces that
 * expired by now_s. Malformed lines are skipped. Returns 0, YM_E_INVAL,
 * YM_E_IO (unreadable file), YM_E_TOOBIG (file holds more than cap live
 * nonces) or YM_E_NOMEM. path is copied. */
int nonce_open(const char *path, size_t cap, uint64_t now_s, struct nonce_store **out);
void nonce_close(struct nonce_store *ns);

/* Records nonce (32 hex chars) valid until expires_s. Returns 0 (recorded
 * and on disk), YM_E_REPLAY (seen before and not expired), YM_E_TOOBIG (store
 * full of live nonces), YM_E_INVAL (malformed nonce, or already expired) or
 * YM_E_IO (could not persist: nothing recorded, refuse the command). */
int nonce_use(struct nonce_store *ns, const char *nonce, uint64_t expires_s, uint64_t now_s);

size_t nonce_count(const struct nonce_store *ns);

#endif
