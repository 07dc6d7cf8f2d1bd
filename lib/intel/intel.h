/* intel: indicators of compromise (IoCs) matched against events in the same
 * pass as the Sigma rules (docs/intel.md).
 *
 * Kinds: SHA-256, SHA-1 and MD5 hashes; IPv4 and IPv6 addresses and CIDR
 * ranges; domains (an indicator "evil.com" also matches "a.b.evil.com");
 * URLs (normalised: scheme and host lower-cased, default port dropped).
 * Build a set with intel_builder_* from plain lists (one indicator a line,
 * kind detected or given) and CSV files, then intel_builder_finish() into an
 * immutable struct intel_set that any number of threads may match against.
 * Memory is bounded by the caps below; sizes are documented in docs/intel.md. */
#ifndef YM_INTEL_H
#define YM_INTEL_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct intel_builder;
struct intel_set;

enum intel_kind {
	INTEL_SHA256 = 1,
	INTEL_SHA1 = 2,
	INTEL_MD5 = 3,
	INTEL_IP = 4, /* address or CIDR, v4 or v6 */
	INTEL_DOMAIN = 5,
	INTEL_URL = 6,
};

#define INTEL_MAX_INDICATORS (64u << 20) /* per set */

/* Metadata of one indicator, handed to match callbacks; strings never NULL
 * (may be ""), valid for the duration of the callback only (indicator may
 * be formatted on intel_match's stack: hashes as lower-case hex, IP ranges
 * as "addr" or "addr/len"). */
struct intel_hit {
	enum intel_kind kind;
	const char *indicator; /* as loaded (normalised) */
	const char *source;    /* list or feed name */
	const char *description;
	const char *field; /* the event field it was found in */
	const char *value; /* the field value (borrowed from the event) */
};

/* Creates an empty builder. Returns 0, YM_E_NOMEM. */
int intel_builder_new(struct intel_builder **out);
void intel_builder_free(struct intel_builder *b);

/* Adds one indicator. kind 0 = detect from the text. Returns 0, YM_E_INVAL
 * (not a valid indicator of that kind; why gets the reason), YM_E_TOOBIG
 * (over INTEL_MAX_INDICATORS), YM_E_NOMEM. Duplicates are accepted once. */
int intel_builder_add(struct intel_builder *b, enum intel_kind kind, const char *text,
		      const char *source, const char *description, char *why, size_t whysz);

/* Loads a file: plain list (one indicator a line, '#' comments; the first
 * word of a line is the indicator and the rest its description, so
 * sha256sum output loads as it is) or CSV with
 * a header naming at least an indicator column ("indicator", "ioc", "value",
 * or a kind name like "sha256", "ip", "domain", "url") and optionally
 * "type"/"kind" and "description" columns. Bad lines are reported through
 * diag (file:line: reason) and skipped; they never stop the load. Returns 0
 * and adds to *added / *rejected, YM_E_IO, YM_E_NOMEM, YM_E_TOOBIG. */
typedef void (*intel_diag_fn)(const char *file, unsigned line, const char *reason, void *ctx);
int intel_builder_load_file(struct intel_builder *b, const char *path, const char *source,
			    size_t *added, size_t *rejected, intel_diag_fn diag, void *ctx);

/* As intel_builder_load_file, from len bytes at p (borrowed for the call);
 * name is used in diagnostics (and as the default source). Returns 0,
 * YM_E_NOMEM, YM_E_TOOBIG. */
int intel_builder_load_mem(struct intel_builder *b, const void *p, size_t len, const char *name,
			   const char *source, size_t *added, size_t *rejected, intel_diag_fn diag,
			   void *ctx);

/* Compiles into an immutable set (handed to the caller; free with
 * intel_set_free) and frees the builder in any case. Returns 0, YM_E_NOMEM. */
int intel_builder_finish(struct intel_builder *b, struct intel_set **out);
void intel_set_free(struct intel_set *s);
/* Distinct indicators in the set (duplicates were merged; the first one
 * added keeps its source and description). */
size_t intel_set_count(const struct intel_set *s);
/* Bytes the set's tables hold (what docs/intel.md "Memory" counts). */
size_t intel_set_bytes(const struct intel_set *s);

/* "sha256", "sha1", "md5", "ip", "domain", "url"; "" for other values. */
const char *intel_kind_name(enum intel_kind k);
/* Parses a kind or type name as lists and feeds write it, case-insensitive:
 * sha256/sha-256/filehash-sha256, sha1, md5, ip/ipv4/ipv6/cidr/ip-dst/
 * ip-src, domain/hostname/fqdn, url/uri (n bytes of s). Returns 0,
 * YM_E_NOTFOUND. */
int intel_kind_parse(const char *s, size_t n, enum intel_kind *out);

/* Looks the event's relevant fields up (Hashes "SHA256=..,MD5=..", sha256,
 * DestinationIp, SourceIp, QueryName, DestinationHostname, Url, ... as
 * docs/intel.md lists; a field's name is compared case-insensitively by its
 * last dotted part, so Event.EventData.Hashes counts as Hashes) and calls
 * fn (may be NULL) for each hit; fn returns non-zero to stop. A domain
 * field hits on the name or any parent domain (the most specific indicator
 * is reported); a URL field is looked up as a URL and its host as a domain
 * or address. s NULL or empty matches nothing. No allocation; thread-safe
 * for any number of concurrent calls on one set. Returns the number of
 * hits (>= 0). */
typedef int (*intel_hit_fn)(const struct intel_hit *hit, const struct event *ev, void *ctx);
int intel_match(const struct intel_set *s, const struct event *ev, intel_hit_fn fn, void *ctx);

/* The alert an IoC hit raises, the same in the server and in `yamori scan`:
 * rule_id "intel:<kind>" and title "IoC match: <kind> <indicator>" written
 * into the given buffers (cut to fit, always NUL-terminated), level "high",
 * and ATT&CK tags by kind (static, never freed): hashes
 * ["attack.execution"] (a known-bad file ran), addresses, domains and URLs
 * ["attack.command-and-control"]. Thread-safe. */
#define INTEL_ALERT_LEVEL "high"
void intel_hit_alert(const struct intel_hit *h, char *rule_id, size_t rsz, char *title, size_t tsz,
		     const char *const **tags, size_t *ntags);

#endif
