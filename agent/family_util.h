/* family_util: small helpers every family module shares: address text,
 * decimal fields and the process context of an event. Thread-safe (no shared
 * state). */
#ifndef YM_AGENT_FAMILY_UTIL_H
#define YM_AGENT_FAMILY_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "family.h"

#define FAMILY_UTIL_IP_MAX  46 /* INET6_ADDRSTRLEN */
#define FAMILY_UTIL_U64_MAX 21
#define FAMILY_UID_NONE	    UINT32_MAX /* a uid not known */

/* Writes the text form of an IPv4 (af AF_INET, 4 bytes) or IPv6 (AF_INET6,
 * 16 bytes) address into out (FAMILY_UTIL_IP_MAX bytes). An IPv4-mapped IPv6
 * address is written in its IPv4 form. Returns 0 or YM_E_INVAL. */
int family_util_ip(int af, const uint8_t *addr, char out[FAMILY_UTIL_IP_MAX]);

/* Writes v in decimal into out (FAMILY_UTIL_U64_MAX bytes). Returns out. */
char *family_util_u64(uint64_t v, char out[FAMILY_UTIL_U64_MAX]);

/* Sets ProcessId (text kept in pidbuf, owned by the caller and alive as long
 * as ev) and, through env->proc_fill, the process context of pid. Returns 1
 * when the process was known, 0 otherwise, YM_E_TOOBIG when ev is full. */
int family_util_proc(const struct family_env *env, int32_t pid, struct event *ev,
		     char pidbuf[FAMILY_UTIL_U64_MAX]);

/* Sets UserId (text in uidbuf) and, where env->user_name knows it, User
 * to uid, the kernel's at the event; call before family_util_proc, whose
 * process context then leaves them. Returns 0 or event_set's error. */
int family_util_user(const struct family_env *env, uint32_t uid, struct event *ev,
		     char uidbuf[FAMILY_UTIL_U64_MAX]);

/* Like family_util_proc for events whose User is not the process's (auth
 * events name the account, the process is the daemon): only ProcessId,
 * Image and ProcessGuid are set on ev; scratch is the caller's spare event. */
int family_util_proc_daemon(const struct family_env *env, int32_t pid, struct event *ev,
			    struct event *scratch, char pidbuf[FAMILY_UTIL_U64_MAX]);

/* The agent's unprivileged uplink process (privsep.c), restarted under new
 * pids: the collector sets it every tick (0: none), from the thread that
 * polls the families. Its traffic to the server, like the agent's own, is
 * never reported. */
void family_set_helper_pid(int32_t pid);

/* Whether pid is the agent (env->self_pid) or its uplink process, now or
 * one replaced in the last 15 s (its last records still arrive). */
int family_is_agent(const struct family_env *env, int32_t pid);

#endif
