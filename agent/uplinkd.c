#include "uplinkd.h"
#include "buf.h"
#include "command.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "privsep.h"
#include "psframe.h"
#include "uplink.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UPLINKD_RESP_MAX       (64u << 10)
#define UPLINKD_CMD_RESP_MAX   (1u << 20)
#define UPLINKD_RESULT_WAIT_MS 60000 /* the root verifies, kills (<= 5 s), persists */
#define UPLINKD_PENDING	       64

struct uplinkd {
	struct http *h_up, *h_cmd;
	int wait_s;
};

static void ud_sleep(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The channel to the root is gone or spoke out of turn: nothing to do but
 * end (the root starts a new uplink process when it needs one). */
static _Noreturn void ud_exit(int code)
{
	_exit(code);
}

static int ud_ack(uint64_t first, uint64_t acked, long status, int outcome)
{
	uint8_t a[PSFRAME_ACK_LEN];
	struct buf b;
	int r;

	buf_init(&b, sizeof(a));
	r = buf_put_u64(&b, first);
	if (!r)
		r = buf_put_u64(&b, acked);
	if (!r)
		r = buf_put_u16(&b, status > 0 && status < 1000 ? (uint16_t)status : 0);
	if (!r)
		r = buf_put_u8(&b, (uint8_t)outcome);
	if (!r)
		r = buf_put_u8(&b, 0);
	if (!r) {
		memcpy(a, b.data, sizeof(a));
		r = psframe_send(PRIVSEP_FD_UPLINK, PSF_ACK, a, sizeof(a), NULL, 0, 30000, NULL);
	}
	buf_free(&b);
	return r;
}

/* Sends one batch until the server takes or refuses it. */
static void ud_send_batch(struct uplinkd *u, uint64_t first, uint64_t last, const uint8_t *data,
			  size_t n, struct buf *resp, int *failing)
{
	uint64_t backoff = 100;

	for (;;) {
		long status = 0;
		uint64_t acked = 0;
		int r;

		buf_reset(resp);
		r = http_request(u->h_up, "POST", "/agent/v1/events", "application/octet-stream",
				 data, n, 60, &status, resp);
		if (r == 0 && status == 200 &&
		    uplink_parse_ack((const char *)resp->data, resp->len, &acked) == 0 &&
		    acked >= last) {
			if (*failing)
				LOG_I("uplink", "server reachable again: sending spooled batches");
			*failing = 0;
			if (ud_ack(first, acked, status, PSACK_SENT))
				ud_exit(0);
			return;
		}
		if (r == 0 && (status == 400 || status == 413)) {
			if (ud_ack(first, 0, status, PSACK_REJECTED))
				ud_exit(0);
			return;
		}
		if (!*failing) {
			if (r)
				LOG_W("uplink", "W3402",
				      "cannot send events (%s): spooling, retrying",
				      http_last_error(u->h_up));
			else if (status == 200)
				LOG_W("uplink", "W3403",
				      "server acknowledged seq %llu, short of %llu: retrying",
				      (unsigned long long)acked, (unsigned long long)last);
			else
				LOG_W("uplink", "W3404",
				      "server answered HTTP %ld to events: retrying", status);
		}
		*failing = 1;
		if (ud_ack(first, acked, r ? 0 : status, PSACK_RETRYING))
			ud_exit(0);
		ud_sleep(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static void ud_uplink_loop(struct uplinkd *u)
{
	struct psframe_rd rd;
	struct buf resp;
	int failing = 0;

	psframe_rd_init(&rd, PSFRAME_FROM_ROOT);
	buf_init(&resp, UPLINKD_RESP_MAX);
	for (;;) {
		struct psframe f;
		struct cursor c;
		uint64_t first = 0, last = 0;
		uint32_t count = 0;
		const uint8_t *data = NULL;
		int r = psframe_recv(PRIVSEP_FD_UPLINK, &rd, -1, NULL, &f);

		if (r)
			ud_exit(r == YM_E_TRUNCATED ? 0 : 1);
		if (f.type != PSF_BATCH)
			ud_exit(1);
		cursor_init(&c, f.payload, f.len);
		if (cursor_get_u64(&c, &first) || cursor_get_u64(&c, &last) ||
		    cursor_get_u32(&c, &count) || cursor_get_bytes(&c, cursor_left(&c), &data))
			ud_exit(1);
		(void)count;
		ud_send_batch(u, first, last, data, f.len - 20, &resp, &failing);
	}
}

/* Posts one result body. Returns 0 (taken, or refused for good) or YM_E_NET
 * (keep it, post it again before the next poll). */
static int ud_post_result(struct uplinkd *u, const char *body, size_t n, struct buf *rb)
{
	long status = 0;

	buf_reset(rb);
	if (http_request(u->h_cmd, "POST", "/agent/v1/results", "application/json", body, n, 30,
			 &status, rb))
		return YM_E_NET;
	if (status >= 500)
		return YM_E_NET;
	if (status != 200)
		LOG_W("command", "W3512", "server answered HTTP %ld to a command result", status);
	return 0;
}

static void *ud_cmd_thread(void *arg)
{
	struct uplinkd *u = arg;
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10, 60);
	char *pending[UPLINKD_PENDING];
	size_t npend = 0;
	struct psframe_rd rd;
	struct buf rb;
	char path[64];
	uint64_t backoff = 1000;

	psframe_rd_init(&rd, PSFRAME_FROM_ROOT);
	buf_init(&rb, UPLINKD_CMD_RESP_MAX);
	snprintf(path, sizeof(path), "/agent/v1/commands?wait=%d", u->wait_s);
	for (;;) {
		json_t *o, *arr, *el;
		long status = 0;
		size_t i;
		int r;

		/* results first: the server re-sends a command until it has one */
		while (npend > 0 && ud_post_result(u, pending[0], strlen(pending[0]), &rb) == 0) {
			free(pending[0]);
			memmove(&pending[0], &pending[1], (npend - 1) * sizeof(pending[0]));
			npend--;
		}
		buf_reset(&rb);
		r = http_request(u->h_cmd, "GET", path, NULL, NULL, 0, u->wait_s + 15, &status,
				 &rb);
		if (r || status != 200) {
			if (log_ratelimit_ok(&rl)) {
				if (r)
					LOG_W("command", "W3514", "command poll failed: %s",
					      http_last_error(u->h_cmd));
				else
					LOG_W("command", "W3514", "command poll answered HTTP %ld",
					      status);
			}
			ud_sleep(backoff);
			backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
			continue;
		}
		backoff = 1000;
		o = json_loadb((const char *)rb.data, rb.len, 0, NULL);
		arr = json_object_get(o, "commands");
		if (!json_is_array(arr)) {
			LOG_W("command", "W3515", "malformed command poll answer");
			json_decref(o);
			ud_sleep(1000);
			continue;
		}
		json_array_foreach(arr, i, el)
		{
			char *wire = json_dumps(el, JSON_COMPACT);
			struct psframe f;
			char *body;
			size_t n;

			if (!wire)
				continue;
			n = strlen(wire);
			if (n == 0 || n > COMMAND_MAX_WIRE) {
				/* the root would refuse it unread: no id to answer under */
				LOG_W("command", "W3517",
				      "command of %zu bytes over the cap: ignored", n);
				free(wire);
				continue;
			}
			r = psframe_send(PRIVSEP_FD_CMD, PSF_COMMAND, wire, n, NULL, 0, 30000,
					 NULL);
			free(wire);
			if (r == 0)
				r = psframe_recv(PRIVSEP_FD_CMD, &rd, UPLINKD_RESULT_WAIT_MS, NULL,
						 &f);
			if (r || f.type != PSF_RESULT)
				ud_exit(r == YM_E_TRUNCATED ? 0 : 1);
			if (f.len == 0)
				continue; /* nothing trustworthy to report it under */
			if (ud_post_result(u, (const char *)f.payload, f.len, &rb) == 0)
				continue;
			body = malloc((size_t)f.len + 1);
			if (!body)
				continue;
			memcpy(body, f.payload, f.len);
			body[f.len] = 0;
			if (npend == UPLINKD_PENDING) {
				LOG_W("command", "W3516", "result queue full: oldest result lost");
				free(pending[0]);
				memmove(&pending[0], &pending[1], (npend - 1) * sizeof(pending[0]));
				npend--;
			}
			pending[npend++] = body;
		}
		json_decref(o);
	}
	return NULL;
}

/* INIT: u32 version | u32 wait_s | u16 n | url | u32 n | CA | u32 n | cert |
 * u32 n | key. From the root, but read with the same care. */
static int ud_init(const struct psframe *f, struct uplinkd *u)
{
	struct cursor c;
	uint32_t ver = 0, wait_s = 0, n32 = 0;
	uint16_t n16 = 0;
	const uint8_t *url = NULL, *p = NULL;
	char server[512];
	struct http_tls tls;

	memset(&tls, 0, sizeof(tls));
	cursor_init(&c, f->payload, f->len);
	if (cursor_get_u32(&c, &ver) || ver != PSFRAME_VERSION || cursor_get_u32(&c, &wait_s) ||
	    wait_s > 30 || cursor_get_u16(&c, &n16) || n16 >= sizeof(server) ||
	    cursor_get_bytes(&c, n16, &url))
		return YM_E_PARSE;
	memcpy(server, url, n16);
	server[n16] = 0;
	if (cursor_get_u32(&c, &n32) || cursor_get_bytes(&c, n32, &p))
		return YM_E_PARSE;
	tls.ca_pem = p;
	tls.ca_len = n32;
	if (cursor_get_u32(&c, &n32) || cursor_get_bytes(&c, n32, &p))
		return YM_E_PARSE;
	tls.cert_pem = p;
	tls.cert_len = n32;
	if (cursor_get_u32(&c, &n32) || cursor_get_bytes(&c, n32, &p))
		return YM_E_PARSE;
	tls.key_pem = p;
	tls.key_len = n32;
	if (cursor_left(&c) != 0 || !tls.ca_len || !tls.cert_len || !tls.key_len)
		return YM_E_PARSE;
	u->wait_s = (int)wait_s;
	if (http_new(server, &tls, NULL, &u->h_up) || http_new(server, &tls, NULL, &u->h_cmd))
		return YM_E_INVAL;
	return 0;
}

int uplinkd_main(int argc, char **argv)
{
	static struct uplinkd u;
	struct psframe_rd rd;
	struct psframe f;
	struct stat sb;
	uint64_t uid = 0, gid = 0, ppid = 0;
	uint8_t ready[4] = {0, 0, 0, PSFRAME_VERSION};
	pthread_t t;
	int r;

	/* only the root agent starts it, with both channels in place */
	if (fstat(PRIVSEP_FD_UPLINK, &sb) < 0 || !S_ISSOCK(sb.st_mode) ||
	    fstat(PRIVSEP_FD_CMD, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		fprintf(stderr,
			"yamori-agent uplink-child is started by `yamori-agent run` only\n");
		return 2;
	}
	syscall(SYS_close_range, 5u, ~0u, 0u);
	if (chdir("/") < 0)
		return 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		enum log_level lvl;
		if (strcmp(argv[i], "--uid") == 0 &&
		    util_parse_u64(argv[i + 1], 1, UINT32_MAX - 1, &uid) == 0)
			continue;
		if (strcmp(argv[i], "--gid") == 0 &&
		    util_parse_u64(argv[i + 1], 1, UINT32_MAX - 1, &gid) == 0)
			continue;
		if (strcmp(argv[i], "--ppid") == 0 &&
		    util_parse_u64(argv[i + 1], 1, INT32_MAX, &ppid) == 0)
			continue;
		if (strcmp(argv[i], "--log-level") == 0 &&
		    log_parse_level(argv[i + 1], &lvl) == 0) {
			log_set_level(lvl);
			continue;
		}
		return 2;
	}
	if (uid == 0 || gid == 0 || ppid == 0)
		return 2;
	/* the time zone, read now, as root: glibc reads /etc/localtime at a
	 * process's first gmtime_r or localtime_r (its first log line, or
	 * OpenSSL checking a certificate's dates), which could come at any
	 * time, opening the zone file in a process that opens no file
	 * otherwise (e2e_privsep once found it open) */
	tzset();
	if (privsep_drop((uid_t)uid, (gid_t)gid)) {
		LOG_E("privsep", "E3704", "uplink process cannot drop its privileges: not running");
		ud_exit(1);
	}
	/* the uid change cleared the parent-death signal: ask again, then
	 * make sure the root agent did not die in between */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != (pid_t)ppid)
		ud_exit(1);
	signal(SIGPIPE, SIG_IGN);
	if (http_global_init())
		ud_exit(1);
	r = privsep_seccomp();
	if (r == YM_E_UNSUPPORTED)
		LOG_W("privsep", "W3706", "built without libseccomp: uplink process not filtered");
	else if (r) {
		LOG_E("privsep", "E3705", "cannot install the uplink process's seccomp filter");
		ud_exit(1);
	}
	psframe_rd_init(&rd, PSFRAME_FROM_ROOT);
	r = psframe_recv(PRIVSEP_FD_UPLINK, &rd, 10000, NULL, &f);
	if (r || f.type != PSF_INIT || ud_init(&f, &u))
		ud_exit(1);
	/* the key lives on only inside the two handles */
	explicit_bzero(rd.buf, rd.alloc);
	psframe_rd_free(&rd);
	if (psframe_send(PRIVSEP_FD_UPLINK, PSF_READY, ready, sizeof(ready), NULL, 0, 10000, NULL))
		ud_exit(1);
	if (pthread_create(&t, NULL, ud_cmd_thread, &u) != 0)
		ud_exit(1);
	ud_uplink_loop(&u);
	ud_exit(0);
}
