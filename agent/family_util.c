#include "family_util.h"
#include "err.h"
#include "util.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

int family_util_ip(int af, const uint8_t *addr, char out[FAMILY_UTIL_IP_MAX])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (af == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		af = AF_INET;
		addr += 12;
	}
	if (af != AF_INET && af != AF_INET6)
		return YM_E_INVAL;
	if (inet_ntop(af, addr, out, FAMILY_UTIL_IP_MAX) == NULL)
		return YM_E_INVAL;
	return 0;
}

char *family_util_u64(uint64_t v, char out[FAMILY_UTIL_U64_MAX])
{
	char tmp[FAMILY_UTIL_U64_MAX];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return out;
}

int family_util_proc(const struct family_env *env, int32_t pid, struct event *ev,
		     char pidbuf[FAMILY_UTIL_U64_MAX])
{
	int rc;

	if (pid <= 0)
		return 0;
	rc = event_set_str(ev, "ProcessId", family_util_u64((uint64_t)pid, pidbuf));
	if (rc != 0)
		return rc;
	if (env->proc_fill == NULL)
		return 0;
	return env->proc_fill(env->arg, pid, ev) == 1 ? 1 : 0;
}

int family_util_user(const struct family_env *env, uint32_t uid, struct event *ev,
		     char uidbuf[FAMILY_UTIL_U64_MAX])
{
	const char *name = env->user_name ? env->user_name(env->arg, uid) : NULL;
	int rc = event_set_str(ev, "UserId", family_util_u64(uid, uidbuf));

	if (rc == 0 && name != NULL)
		rc = event_set_str(ev, "User", name);
	return rc;
}

int family_util_proc_daemon(const struct family_env *env, int32_t pid, struct event *ev,
			    struct event *scratch, char pidbuf[FAMILY_UTIL_U64_MAX])
{
	static const char *const keep[] = {"Image", "ProcessGuid"};
	int rc, known;

	if (pid <= 0)
		return 0;
	rc = event_set_str(ev, "ProcessId", family_util_u64((uint64_t)pid, pidbuf));
	if (rc != 0 || env->proc_fill == NULL)
		return rc;
	event_init(scratch);
	scratch->ts_ns = ev->ts_ns; /* the process at the event's time */
	known = env->proc_fill(env->arg, pid, scratch) == 1;
	for (size_t i = 0; known && i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t n;
		const char *v = event_get(scratch, keep[i], &n);

		if (v != NULL && (rc = event_set(ev, keep[i], v, n)) != 0)
			return rc;
	}
	return known;
}

/* The uplink process now, and the ones it replaced in the last
 * HELPER_KEEP_NS: what a dead one did still arrives after its successor
 * started (a flow's summary comes at the next tick, a second later; a dump
 * reads a socket up to 200 ms late), and is the agent's too. Read and
 * written by the collector's thread only. */
#define HELPER_PAST    4
#define HELPER_KEEP_NS (15ull * 1000000000)

static int32_t helper_pid;
static struct {
	int32_t pid;
	uint64_t until_ns;
} helper_past[HELPER_PAST];
static unsigned helper_next;

void family_set_helper_pid(int32_t pid)
{
	if (pid == helper_pid)
		return;
	if (helper_pid != 0) {
		helper_past[helper_next % HELPER_PAST].pid = helper_pid;
		helper_past[helper_next % HELPER_PAST].until_ns = util_mono_ns() + HELPER_KEEP_NS;
		helper_next++;
	}
	helper_pid = pid;
}

int family_is_agent(const struct family_env *env, int32_t pid)
{
	if (pid == 0)
		return 0;
	if (pid == env->self_pid || pid == helper_pid)
		return 1;
	for (int i = 0; i < HELPER_PAST; i++)
		if (helper_past[i].pid == pid && util_mono_ns() < helper_past[i].until_ns)
			return 1;
	return 0;
}
