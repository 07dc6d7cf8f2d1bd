#include "state.h"
#include "buf.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int state_paths(struct agent_state *st)
{
	if (snprintf(st->cert_path, sizeof(st->cert_path), "%s/agent.crt", st->dir) >=
		(int)sizeof(st->cert_path) ||
	    snprintf(st->key_path, sizeof(st->key_path), "%s/agent.key", st->dir) >=
		(int)sizeof(st->key_path) ||
	    snprintf(st->ca_path, sizeof(st->ca_path), "%s/ca.crt", st->dir) >=
		(int)sizeof(st->ca_path))
		return YM_E_TOOBIG;
	return 0;
}

static int state_str(json_t *o, const char *key, char *dst, size_t dstsz)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= dstsz)
		return YM_E_PARSE;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int state_load(const char *dir, struct agent_state *out)
{
	struct agent_state *st = NULL;
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	json_t *o = NULL;
	struct stat sb;
	int r = YM_E_NOMEM;

	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	r = YM_E_TOOBIG;
	if (util_strlcpy(st->dir, dir, sizeof(st->dir)) || state_paths(st))
		goto out;
	snprintf(path, sizeof(path), "%s/agent.json", dir);
	r = util_read_file(path, 65536, &text, &len);
	if (r) {
		if (r == YM_E_IO && errno == ENOENT)
			r = YM_E_NOTFOUND;
		goto out;
	}
	r = YM_E_PARSE;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o) || state_str(o, "agent_id", st->agent_id, sizeof(st->agent_id)) ||
	    state_str(o, "tenant_id", st->tenant_id, sizeof(st->tenant_id)) ||
	    state_str(o, "server", st->server, sizeof(st->server)) ||
	    state_str(o, "hostname", st->hostname, sizeof(st->hostname)))
		goto out;
	free(text);
	text = NULL;
	snprintf(path, sizeof(path), "%s/response.pub", dir);
	if (util_read_file(path, 256, &text, &len))
		goto out;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = 0;
	if (util_unhex(text, st->response_pub, COMMAND_PUBKEY_LEN))
		goto out;
	r = YM_E_AUTH;
	if (stat(st->key_path, &sb) < 0 || (sb.st_mode & 077))
		goto out;
	r = YM_E_PARSE;
	if (stat(st->cert_path, &sb) < 0 || stat(st->ca_path, &sb) < 0)
		goto out;
	*out = *st;
	r = 0;
out:
	json_decref(o);
	free(text);
	free(st);
	return r;
}

static int state_put(const char *dir, const char *name, const char *text, unsigned mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return YM_E_IO;
	return util_write_file(path, text, strlen(text), mode) ? YM_E_IO : 0;
}

int state_save(const struct agent_state *st, const char *cert_pem, const char *ca_pem,
	       const char *key_pem)
{
	json_t *o = NULL;
	char *js = NULL;
	char pub[2 * COMMAND_PUBKEY_LEN + 2];
	int r = YM_E_IO;

	if (util_mkdirs(st->dir, 0700) || chmod(st->dir, 0700) < 0)
		goto out;
	util_hex(st->response_pub, COMMAND_PUBKEY_LEN, pub);
	pub[2 * COMMAND_PUBKEY_LEN] = '\n';
	pub[2 * COMMAND_PUBKEY_LEN + 1] = 0;
	if (state_put(st->dir, "agent.key", key_pem, 0600) ||
	    state_put(st->dir, "agent.crt", cert_pem, 0644) ||
	    state_put(st->dir, "ca.crt", ca_pem, 0644) ||
	    state_put(st->dir, "response.pub", pub, 0644))
		goto out;
	r = YM_E_NOMEM;
	o = json_pack("{s:s, s:s, s:s, s:s}", "agent_id", st->agent_id, "tenant_id", st->tenant_id,
		      "server", st->server, "hostname", st->hostname);
	if (!o)
		goto out;
	js = json_dumps(o, JSON_INDENT(2));
	if (!js)
		goto out;
	{
		struct buf b;
		buf_init(&b, 1 << 16);
		r = buf_printf(&b, "%s\n", js);
		if (r == 0)
			r = state_put(st->dir, "agent.json", (const char *)b.data, 0600);
		buf_free(&b);
	}
out:
	free(js);
	json_decref(o);
	return r;
}

int state_lock(const struct agent_state *st, int *fd)
{
	char path[PATH_MAX];
	int f, r = YM_E_IO;

	if (snprintf(path, sizeof(path), "%s/lock", st->dir) >= (int)sizeof(path))
		return YM_E_IO;
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return YM_E_IO;
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? YM_E_EXISTS : YM_E_IO;
		close(f);
		return r;
	}
	*fd = f;
	return 0;
}
