#include "nonce.h"
#include "buf.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LINE_MAX 64

struct nonce_ent {
	char hex[NONCE_HEX_LEN + 1];
	uint64_t expires_s;
};

struct nonce_store {
	char path[PATH_MAX];
	struct nonce_ent *ents;
	size_t n, cap;
};

static int nonce_hex_ok(const char *s, size_t n)
{
	if (n != NONCE_HEX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void nonce_prune(struct nonce_store *ns, uint64_t now_s)
{
	size_t j = 0;
	for (size_t i = 0; i < ns->n; i++)
		if (ns->ents[i].expires_s > now_s)
			ns->ents[j++] = ns->ents[i];
	ns->n = j;
}

/* Parses "<32 lowercase hex> <expires>\n" lines. */
static int nonce_load(struct nonce_store *ns, const char *text, size_t len, uint64_t now_s)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i, l;
		char num[24];
		uint64_t exp;

		while (eol < len && text[eol] != '\n')
			eol++;
		l = eol - i;
		if (l > NONCE_HEX_LEN + 1 && l - NONCE_HEX_LEN - 1 < sizeof(num) &&
		    text[i + NONCE_HEX_LEN] == ' ' && nonce_hex_ok(text + i, NONCE_HEX_LEN)) {
			memcpy(num, text + i + NONCE_HEX_LEN + 1, l - NONCE_HEX_LEN - 1);
			num[l - NONCE_HEX_LEN - 1] = 0;
			if (util_parse_u64(num, 0, UINT64_MAX, &exp) == 0 && exp > now_s) {
				if (ns->n >= ns->cap)
					return YM_E_TOOBIG;
				memcpy(ns->ents[ns->n].hex, text + i, NONCE_HEX_LEN);
				ns->ents[ns->n].hex[NONCE_HEX_LEN] = 0;
				ns->ents[ns->n].expires_s = exp;
				ns->n++;
			}
		}
		i = eol + 1;
	}
	return 0;
}

int nonce_open(const char *path, size_t cap, uint64_t now_s, struct nonce_store **out)
{
	struct nonce_store *ns = NULL;
	char *text = NULL;
	size_t len = 0;
	int r = YM_E_INVAL;

	if (!path || cap == 0 || cap > (1u << 20))
		goto out;
	r = YM_E_NOMEM;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		goto out;
	ns->ents = calloc(cap, sizeof(*ns->ents));
	if (!ns->ents)
		goto out;
	ns->cap = cap;
	r = YM_E_TOOBIG;
	if (util_strlcpy(ns->path, path, sizeof(ns->path)))
		goto out;
	r = util_read_file(path, cap * NONCE_LINE_MAX + 4096, &text, &len);
	if (r == YM_E_IO && errno == ENOENT)
		r = 0;
	else if (r == 0)
		r = nonce_load(ns, text, len, now_s);
	if (r)
		goto out;
	*out = ns;
	ns = NULL;
out:
	free(text);
	nonce_close(ns);
	return r;
}

void nonce_close(struct nonce_store *ns)
{
	if (!ns)
		return;
	free(ns->ents);
	free(ns);
}

static int nonce_save(const struct nonce_store *ns)
{
	struct buf b;
	int r = 0;

	buf_init(&b, ns->cap * NONCE_LINE_MAX + 16);
	for (size_t i = 0; i < ns->n && r == 0; i++)
		r = buf_printf(&b, "%s %llu\n", ns->ents[i].hex,
			       (unsigned long long)ns->ents[i].expires_s);
	if (r == 0)
		r = util_write_file(ns->path, b.data ? (const void *)b.data : "", b.len, 0600);
	buf_free(&b);
	return r ? YM_E_IO : 0;
}

int nonce_use(struct nonce_store *ns, const char *nonce, uint64_t expires_s, uint64_t now_s)
{
	char hex[NONCE_HEX_LEN + 1];
	size_t n = strnlen(nonce, NONCE_HEX_LEN + 1);
	int r;

	if (n != NONCE_HEX_LEN || expires_s <= now_s)
		return YM_E_INVAL;
	/* nonces are hex: compare them in one case */
	for (size_t i = 0; i < n; i++)
		hex[i] = (nonce[i] >= 'A' && nonce[i] <= 'F') ? (char)(nonce[i] + 32) : nonce[i];
	hex[n] = 0;
	if (!nonce_hex_ok(hex, n))
		return YM_E_INVAL;
	nonce_prune(ns, now_s);
	for (size_t i = 0; i < ns->n; i++)
		if (memcmp(ns->ents[i].hex, hex, NONCE_HEX_LEN) == 0)
			return YM_E_REPLAY;
	if (ns->n >= ns->cap)
		return YM_E_TOOBIG;
	memcpy(ns->ents[ns->n].hex, hex, sizeof(hex));
	ns->ents[ns->n].expires_s = expires_s;
	ns->n++;
	r = nonce_save(ns);
	if (r)
		ns->n--; /* not on disk: not recorded, the command is refused */
	return r;
}

size_t nonce_count(const struct nonce_store *ns)
{
	return ns->n;
}
