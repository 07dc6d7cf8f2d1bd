/* event: the one normalised event record (see docs/schema.md).
 *
 * An envelope (tenant, agent, host, per-agent sequence number, time, category)
 * and up to EVENT_MAX_FIELDS named string fields using the Sigma taxonomy
 * names (Image, CommandLine, ParentImage, ...). Field names and values are
 * borrowed NUL-terminated strings: whoever fills the event keeps the storage
 * alive for as long as the event is used. Values never contain a NUL byte.
 * A struct event is plain data: no allocation, safe to copy, not shared
 * between threads while being filled. */
#ifndef YM_EVENT_H
#define YM_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_MAX_FIELDS    32
#define EVENT_MAX_NAME	    63	  /* bytes in a field name, without NUL */
#define EVENT_MAX_VALUE	    65535 /* bytes in a field value, without NUL */

/* Categories are the Sigma logsource categories yamori produces. The numbers
 * are on the wire: never renumber, only add. */
enum event_category {
	EVCAT_UNKNOWN = 0,
	EVCAT_PROCESS_CREATION = 1,
	EVCAT_PROCESS_TERMINATION = 2,
	EVCAT_NETWORK_CONNECTION = 3,
	EVCAT_FILE_EVENT = 4,
	EVCAT_DNS_QUERY = 5,
	EVCAT_AUTHENTICATION = 6,
	EVCAT_AGENT_STATUS = 7,	     /* agent health and drop reports */
	EVCAT_AUDITD = 8,	     /* a raw auditd record: Sigma service auditd, no category */
	EVCAT_PROCESS_ACCESS = 9,    /* ptrace attach (Sigma process_access) */
	EVCAT_PRIVILEGE_CHANGE = 10, /* setuid/setgid family, capset */
	EVCAT_DRIVER_LOAD = 11,	     /* kernel module load (Sigma driver_load) */
	EVCAT_BPF_LOAD = 12,	     /* BPF program load */
	EVCAT_FILE_ACCESS = 13,	     /* a watched file opened for reading (Sigma file_access) */
	EVCAT_MAX_ = 14,
};

struct event_field {
	const char *name;  /* borrowed, NUL-terminated */
	const char *value; /* borrowed, NUL-terminated, value_len bytes before the NUL */
	uint32_t value_len;
};

struct event {
	/* envelope; strings borrowed, may be NULL where not known yet (on the agent) */
	const char *tenant_id;
	const char *agent_id;
	const char *host;
	const char *product; /* Sigma logsource product: "linux" */
	uint64_t seq;	     /* per-agent sequence number, from 1 */
	uint64_t ts_ns;	     /* event time, ns since the Unix epoch */
	uint16_t category;   /* enum event_category */
	uint16_t nfields;
	/* Logsource beyond product and category number (read by lib/detect,
	 * docs/rules.md "Logsource routing"); borrowed, NULL when not known. */
	const char *service;	   /* Sigma logsource service: "security", "sysmon", "auditd" */
	const char *category_name; /* Sigma category when category is EVCAT_UNKNOWN:
				    * "registry_set", "ps_script", ... */
	/* Fields beyond fields[] for records with more than EVENT_MAX_FIELDS
	 * fields (Windows events); borrowed array of nxfields entries, NULL when
	 * none. Only lib/detect reads them; event_get() and the wire codec see
	 * fields[] only. */
	const struct event_field *xfields;
	uint32_t nxfields;
	struct event_field fields[EVENT_MAX_FIELDS];
};

/* Zeroes the event. */
void event_init(struct event *ev);
/* Sets field name to value (len bytes, value[len] must be NUL), replacing an
 * existing field of that name. Both strings are borrowed. Returns 0,
 * YM_E_TOOBIG (no room, name or value too long) or YM_E_INVAL (empty or bad
 * name: names are [A-Za-z0-9_.]+; embedded NUL in value). */
int event_set(struct event *ev, const char *name, const char *value, size_t len);
/* Appends field name = value (len bytes, value[len] must be NUL) without
 * the checks of event_set: for producers whose names are literals known
 * good and set once per event, on a hot path. Whoever encodes the event
 * checks it (the agent's batcher refuses an event that would not decode).
 * Both strings are borrowed. Returns 0, or YM_E_TOOBIG (no room, value too
 * long). */
int event_add(struct event *ev, const char *name, const char *value, size_t len);
/* Like event_set with strlen(value). */
int event_set_str(struct event *ev, const char *name, const char *value);
/* Returns the value of field name (exact, case-sensitive name match) or NULL
 * when the field is missing; *len (if not NULL) gets its length. */
const char *event_get(const struct event *ev, const char *name, size_t *len);
/* Case-insensitive name lookup, for rule field names written in another case. */
const char *event_get_ci(const struct event *ev, const char *name, size_t *len);

/* Interned names. A producer that decodes events from outside (the wire
 * decoder, the NDJSON and log readers) may set a field's name to the
 * pointer event_name_intern gives: one process-wide copy of each distinct
 * name, kept until the process ends, so that consumers (lib/detect,
 * lib/intel) can trust pointer equality and keep per-name results by id
 * instead of comparing strings. Any other name pointer stays valid and is
 * compared as a string. At most EVENT_NAMES_MAX names are interned; then
 * event_name_intern returns NULL and the producer keeps its own copy.
 * Thread-safe; lookups of names already interned take no lock. */
#define EVENT_NAMES_MAX 4096
#define EVENT_NAME_SLOT 64 /* bytes per interned name, its NUL included */
extern char event_names_[EVENT_NAMES_MAX * EVENT_NAME_SLOT]; /* only names.c writes */
/* The interned copy of name[0..len) (len <= EVENT_MAX_NAME, no NUL), or
 * NULL (table full, bad length). */
const char *event_name_intern(const char *name, size_t len);
/* The id (1..EVENT_NAMES_MAX) of a pointer event_name_intern returned, 0
 * for any other pointer. */
static inline uint32_t event_name_id(const char *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)event_names_;

	if (off >= sizeof(event_names_) || off % EVENT_NAME_SLOT != 0)
		return 0;
	return (uint32_t)(off / EVENT_NAME_SLOT) + 1;
}
/* strlen of the interned name of id (0 for an id not given). */
size_t event_name_len(uint32_t id);

/* "process_creation" etc.; "unknown" for out-of-range values. */
const char *event_category_name(unsigned cat);
/* The Sigma logsource service implied by a wire category ("auditd" for
 * EVCAT_AUDITD), or NULL. The wire carries no service: the server sets
 * ev->service from this. */
const char *event_category_service(unsigned cat);
/* Returns 0 and sets *cat, or YM_E_NOTFOUND. */
int event_category_parse(const char *name, unsigned *cat);
/* 1 if name is a valid field name. */
int event_name_ok(const char *name, size_t len);

#endif
