/* command: response commands from server to agent, signed with the server's
 * Ed25519 response key (docs/protocol.md, "Commands").
 *
 * On the wire a command is a JSON object {"payload": "<text>", "sig": "<hex>"}
 * where payload is the exact byte string that was signed: a compact JSON
 * object with the fields of struct command. The agent verifies the signature
 * over the payload bytes with the key it pinned at enrolment before it parses
 * anything inside the payload. */
#ifndef YM_COMMAND_H
#define YM_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define COMMAND_PUBKEY_LEN  32
#define COMMAND_SIG_LEN	    64
#define COMMAND_MAX_WIRE    8192 /* bytes of one signed command on the wire */
#define COMMAND_MAX_TTL_S   3600 /* the agent refuses commands valid for longer */

struct command {
	char id[40];	   /* action id (UUID) */
	char agent_id[40]; /* the only agent that may run it */
	char action[24];   /* "kill" */
	int64_t pid;	   /* target process */
	uint64_t start_time; /* target's start time: /proc/PID/stat field 22, clock ticks since boot */
	char nonce[40];	   /* 32 hex chars, random per command */
	uint64_t issued_s; /* Unix seconds */
	uint64_t expires_s;
};

/* Signs c with the Ed25519 private key in PEM (pem, pemlen) and appends the
 * wire JSON object to out (command_sign.c, library ymwire_sign: OpenSSL).
 * Returns 0, YM_E_INVAL, YM_E_CRYPTO, YM_E_NOMEM, YM_E_TOOBIG. */
int command_sign(const struct command *c, const char *pem, size_t pemlen, struct buf *out);

/* Checks the signature of one wire command (json, len) against pubkey and
 * only then parses the payload into *out. It does not check expiry, agent id
 * or nonce: see command_check. Returns 0, YM_E_PARSE (malformed), YM_E_CRYPTO
 * (bad or missing signature), YM_E_TOOBIG. */
int command_verify(const char *json, size_t len, const uint8_t pubkey[COMMAND_PUBKEY_LEN],
		   struct command *out);

/* 1 when s (len bytes) is a command nonce: COMMAND_NONCE_HEX hex digits. */
#define COMMAND_NONCE_HEX 32
int command_nonce_ok(const char *s, size_t len);

/* Policy checks on a verified command: addressed to agent_id, issued_s <=
 * now + 60 (clock skew), expires_s > now, expires_s - issued_s <=
 * COMMAND_MAX_TTL_S. Returns 0, YM_E_AUTH (other agent), YM_E_EXPIRED,
 * YM_E_INVAL. Nonce replay is the caller's nonce store's job. */
int command_check(const struct command *c, const char *agent_id, uint64_t now_s);

/* Derives the raw 32-byte public key from an Ed25519 private key PEM
 * (command_sign.c). Returns 0, YM_E_CRYPTO. */
int command_pubkey_from_pem(const char *pem, size_t pemlen, uint8_t pubkey[COMMAND_PUBKEY_LEN]);

#endif
