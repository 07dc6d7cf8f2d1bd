/* yamori-server: init, tenant-add, token-add, serve (docs/internals/server.md). */
#include "actions.h"
#include "audit.h"
#include "datadir.h"
#include "detect.h"
#include "err.h"
#include "http.h"
#include "ioc.h"
#include "log.h"
#include "pki.h"
#include "rules.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DRAIN_MS 10000

struct opts {
	const char *data;
	const char *listen;
	const char *tenant;
	const char *role;
	const char *name;
	const char *sans[PKI_MAX_SANS];
	size_t nsans;
	const char *rules[RULES_MAX_PATHS];
	size_t nrules;
	const char *intel[IOC_MAX_PATHS];
	size_t nintel;
	const char *placeholders;
	const char *positional;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: yamori-server <command> [options]\n"
		   "  init       --data DIR [--san NAME|IP]...\n"
		   "  tenant-add --data DIR NAME\n"
		   "  token-add  --data DIR [--tenant NAME] [--role analyst|admin] [--name LABEL]\n"
		   "  serve      --data DIR [--listen 127.0.0.1:8443] [--rules DIR]...\n"
		   "             [--intel FILE]... [--placeholders FILE]\n"
		   "             (rules, placeholders and IoC files reload on SIGHUP)\n"
		   "common: [--log-level error|warn|info|debug]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"tenant", required_argument, NULL, 't'},
	    {"role", required_argument, NULL, 'r'},
	    {"name", required_argument, NULL, 'n'},
	    {"san", required_argument, NULL, 's'},
	    {"rules", required_argument, NULL, 'R'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"intel", required_argument, NULL, 'I'},
	    {"placeholders", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum log_level lvl;
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8443";
	o->role = "analyst";
	o->name = "token";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->data = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			o->tenant = optarg;
			break;
		case 'r':
			o->role = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 's':
			if (o->nsans >= PKI_MAX_SANS) {
				fprintf(stderr, "yamori-server: at most %d --san\n", PKI_MAX_SANS);
				return 2;
			}
			o->sans[o->nsans++] = optarg;
			break;
		case 'R':
			if (o->nrules >= RULES_MAX_PATHS) {
				fprintf(stderr, "yamori-server: at most %d --rules\n",
					RULES_MAX_PATHS);
				return 2;
			}
			o->rules[o->nrules++] = optarg;
			break;
		case 'I':
			if (o->nintel >= IOC_MAX_PATHS) {
				fprintf(stderr, "yamori-server: at most %d --intel\n",
					IOC_MAX_PATHS);
				return 2;
			}
			o->intel[o->nintel++] = optarg;
			break;
		case 'P':
			o->placeholders = optarg;
			break;
		case 'L':
			if (log_parse_level(optarg, &lvl)) {
				fprintf(stderr, "yamori-server: bad --log-level %s\n", optarg);
				return 2;
			}
			log_set_level(lvl);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		o->positional = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "yamori-server: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	if (!o->data) {
		fprintf(stderr, "yamori-server: --data DIR is required\n");
		return 2;
	}
	return 0;
}

/* Opens the store of an initialised data dir (never creates one: a typo in
 * --data must not start a new deployment). */
static int open_existing_store(const char *dir, struct store **out)
{
	char p[DATADIR_PATH_MAX];
	struct stat sb;

	if (datadir_path(dir, "yamori.db", p, sizeof(p)) || stat(p, &sb) != 0) {
		fprintf(stderr,
			"yamori-server: no database in %s (run `yamori-server init --data %s`)\n",
			dir, dir);
		return YM_E_NOTFOUND;
	}
	return store_open_sqlite(p, out);
}

static int name_ok(const char *s, int strict)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (strict ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
			   : (c < 0x21 || c > 0x7e))
			return 0;
	}
	return 1;
}

/* 32 random bytes as hex, and the SHA-256 of that text (what is stored). */
static int new_token(char hex[65], uint8_t hash[32])
{
	uint8_t raw[32];
	if (util_random(raw, sizeof(raw)))
		return YM_E_IO;
	util_hex(raw, sizeof(raw), hex);
	explicit_bzero(raw, sizeof(raw));
	return pki_sha256(hex, 64, hash);
}

static int cmd_init(const struct opts *o)
{
	int r = datadir_init(o->data, o->sans, o->nsans);
	if (r) {
		fprintf(stderr, "yamori-server: init %s failed: %s\n", o->data, ym_strerror(r));
		return 1;
	}
	return 0;
}

static int cmd_tenant_add(const struct opts *o)
{
	struct store *st = NULL;
	struct store_tenant t;
	char tok[65];
	uint8_t hash[32];
	int r, created = 0, rc = 1;

	if (!o->positional || !name_ok(o->positional, 1)) {
		fprintf(stderr, "yamori-server: tenant-add needs a NAME of 1..64 [A-Za-z0-9_.-]\n");
		return 2;
	}
	if (open_existing_store(o->data, &st))
		goto out;
	r = store_tenant_ensure(st, (struct store_scope){NULL}, o->positional, &t, &created);
	if (r) {
		fprintf(stderr, "yamori-server: tenant-add: %s\n", ym_strerror(r));
		goto out;
	}
	if (created)
		audit_record(st, "cli", t.id, "tenant.created", t.id, "name=%s", t.name);
	if ((r = new_token(tok, hash)) ||
	    (r = store_enrol_token_add(st, (struct store_scope){NULL}, t.id, hash))) {
		fprintf(stderr, "yamori-server: tenant-add: enrolment token: %s\n", ym_strerror(r));
		goto out;
	}
	audit_record(st, "cli", t.id, "enrol_token.created", t.id, "tenant=%s", t.name);
	printf("tenant %s %s\nenrol-token %s\n", t.id, t.name, tok);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	explicit_bzero(tok, sizeof(tok));
	store_close(st);
	return rc;
}

static int cmd_token_add(const struct opts *o)
{
	struct store *st = NULL;
	struct store_tenant t;
	struct store_api_token at;
	char tok[65];
	uint8_t hash[32];
	int r, rc = 1;

	if (strcmp(o->role, "analyst") != 0 && strcmp(o->role, "admin") != 0) {
		fprintf(stderr, "yamori-server: --role analyst|admin\n");
		return 2;
	}
	if (!name_ok(o->name, 0)) {
		fprintf(stderr, "yamori-server: --name must be 1..64 printable characters\n");
		return 2;
	}
	if (o->positional) {
		fprintf(stderr, "yamori-server: token-add takes no positional argument\n");
		return 2;
	}
	if (open_existing_store(o->data, &st))
		goto out;
	if (o->tenant) {
		r = name_ok(o->tenant, 1)
			? store_tenant_find(st, (struct store_scope){NULL}, o->tenant, &t)
			: YM_E_NOTFOUND;
		if (r) {
			fprintf(stderr, "yamori-server: no tenant named %s\n", o->tenant);
			goto out;
		}
	}
	if ((r = new_token(tok, hash)) ||
	    (r = store_api_token_add(st, (struct store_scope){NULL}, o->tenant ? t.id : NULL,
				     o->role, o->name, hash, &at))) {
		fprintf(stderr, "yamori-server: token-add: %s\n", ym_strerror(r));
		goto out;
	}
	audit_record(st, "cli", o->tenant ? t.id : NULL, "api_token.created", at.id,
		     "role=%s name=%s tenant=%s", at.role, at.name,
		     o->tenant ? t.name : "(provider)");
	printf("%s\n", tok);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	explicit_bzero(tok, sizeof(tok));
	store_close(st);
	return rc;
}

static void log_rules(const char *what, const struct detect_load_stats *s)
{
	LOG_I("server", "rules: %u loaded, %u unsupported, %u errors%s", s->loaded, s->unsupported,
	      s->errors, what);
}

static void log_intel(const char *what, const struct ioc_stats *s)
{
	LOG_I("server", "intel: %zu loaded, %zu rejected, %zu distinct%s", s->added, s->rejected,
	      s->distinct, what);
}

static void reload_intel(struct server *srv)
{
	struct ioc_stats s;
	int r = ioc_reload(srv->ioc, &s);

	if (r) {
		LOG_E("server", "E2103", "IoC reload failed (%s): keeping the previous IoCs",
		      ym_strerror(r));
		audit_record(srv->store, "server", NULL, "intel.reload", NULL, "failed: %s",
			     ym_strerror(r));
		return;
	}
	log_intel(" (reloaded)", &s);
	audit_record(srv->store, "server", NULL, "intel.reload", NULL,
		     "%zu loaded, %zu rejected, %zu distinct", s.added, s.rejected, s.distinct);
}

static void reload_rules(struct server *srv)
{
	struct detect_load_stats s;
	int r = rules_reload(srv->rules, &s);

	if (r) {
		LOG_E("server", "E2102", "rules reload failed (%s): keeping the previous rules",
		      ym_strerror(r));
		audit_record(srv->store, "server", NULL, "rules.reload", NULL, "failed: %s",
			     ym_strerror(r));
		return;
	}
	log_rules(" (reloaded)", &s);
	audit_record(srv->store, "server", NULL, "rules.reload", NULL,
		     "%u loaded, %u unsupported, %u errors", s.loaded, s.unsupported, s.errors);
}

static int cmd_serve(const struct opts *o)
{
	struct server srv;
	struct http *h = NULL;
	struct detect_load_stats rs;
	struct ioc_stats is;
	char p[DATADIR_PATH_MAX];
	sigset_t set;
	int r, sig, rc = 1;
	unsigned left;

	memset(&srv, 0, sizeof(srv));
	srv.data_dir = o->data;
	/* every thread started from here on inherits the mask; main takes the signals */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = datadir_init(o->data, o->sans, o->nsans))) {
		fprintf(stderr, "yamori-server: data dir %s: %s\n", o->data, ym_strerror(r));
		goto out;
	}
	if ((r = datadir_keys_load(o->data, &srv.keys)))
		goto out;
	if ((r = pki_ca_load(srv.keys.ca_key, srv.keys.ca_key_len, srv.keys.ca_crt,
			     srv.keys.ca_crt_len, &srv.ca))) {
		LOG_E("server", "E2404", "ca.key and ca.crt in %s do not load or do not match",
		      o->data);
		goto out;
	}
	if ((r = datadir_path(o->data, "yamori.db", p, sizeof(p))) ||
	    (r = store_open_sqlite(p, &srv.store)))
		goto out;
	if ((r = rules_init(o->rules, o->nrules, o->placeholders, &srv.rules, &rs))) {
		LOG_E("server", "E2101", "cannot load rules: %s", ym_strerror(r));
		goto out;
	}
	if ((r = ioc_init(o->intel, o->nintel, &srv.ioc, &is))) {
		LOG_E("server", "E2104", "cannot load IoCs: %s", ym_strerror(r));
		goto out;
	}
	if ((r = actions_init(&srv.actions)))
		goto out;
	if ((r = http_start(&srv, o->listen, &h)))
		goto out;
	LOG_I("server", "yamori-server %s: data dir %s, listening on %s", YM_VERSION, o->data,
	      http_url(h));
	log_rules("", &rs);
	if (o->nintel)
		log_intel("", &is);
	fprintf(stderr, "yamori-server listening on %s\n", http_url(h));

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_rules(&srv);
			reload_intel(&srv);
			continue;
		}
		LOG_I("server", "signal %d: stopping", sig);
		break;
	}
	http_quiesce(h);
	actions_shutdown(srv.actions); /* long polls answer now */
	left = http_drain(h, DRAIN_MS);
	if (left)
		LOG_W("server", "W2101", "%u requests still running after %u ms: closing them",
		      left, DRAIN_MS);
	http_stop(h);
	h = NULL;
	rc = 0;
out:
	http_stop(h);
	actions_free(srv.actions);
	rules_free(srv.rules);
	ioc_free(srv.ioc);
	store_close(srv.store);
	pki_ca_free(srv.ca);
	datadir_keys_free(&srv.keys);
	if (rc == 0)
		LOG_I("server", "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *cmd;
	int r;

	umask(077);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	/* the one-shot commands print their result on stdout; their log is for problems */
	if (strcmp(cmd, "serve") != 0)
		log_set_level(LOG_LVL_WARN);
	r = parse_opts(argc - 1, argv + 1, &o);
	if (r)
		return r;
	if (strcmp(cmd, "init") == 0)
		return o.positional ? 2 : cmd_init(&o);
	if (strcmp(cmd, "tenant-add") == 0)
		return cmd_tenant_add(&o);
	if (strcmp(cmd, "token-add") == 0)
		return cmd_token_add(&o);
	if (strcmp(cmd, "serve") == 0)
		return o.positional ? 2 : cmd_serve(&o);
	fprintf(stderr, "yamori-server: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
