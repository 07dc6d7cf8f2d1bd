/* yamori: the command-line client. It talks only to the server's public API
 * (docs/protocol.md), plus offline tools that need no server. */
#include "apiclient.h"
#include "buf.h"
#include "err.h"
#include "rulescheck.h"
#include "scan.h"
#include "util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cli {
	struct apiclient api;
	int json; /* print the raw JSON answer */
};

static void usage(FILE *f)
{
	fputs("usage: yamori [--server URL] [--token TOKEN] [--ca FILE] [--json] COMMAND ...\n"
	      "\n"
	      "commands (server API; URL, TOKEN and CA also from YAMORI_SERVER, YAMORI_TOKEN,\n"
	      "YAMORI_CA):\n"
	      "  agents                          enrolled agents with last contact and sequence\n"
	      "  alerts [--since D] [--limit N]  alerts, newest first, with process and parent chain\n"
	      "  events [--host H] [--agent A] [--category C] [--since D] [--limit N]\n"
	      "                                  stored telemetry, newest first\n"
	      "  kill --agent A --pid P [--start-time T] [--no-wait]\n"
	      "                                  kill a process through the signed response path\n"
	      "  action ID                       status of a response action\n"
	      "  audit [--limit N]               the audit log\n"
	      "offline:\n"
	      "  rules check [--quiet] [--placeholders FILE] PATH...\n"
	      "                                  parse Sigma rules; prints each problem and\n"
	      "                                  'rules: N loaded, N unsupported, N errors'\n"
	      "  scan [--rules PATH]... [--intel FILE]... [--logsource product=P,category=C,\n"
	      "       service=S] [--format auto|ndjson|syslog|evtx] FILE...\n"
	      "                                  Sigma rules and IoCs over NDJSON, syslog and\n"
	      "                                  EVTX files; one JSON line per match\n"
	      "  intel check FILE...             load IoC lists; prints each rejected line and\n"
	      "                                  'intel: N loaded, N rejected'\n"
	      "durations: 30s, 10m, 2h, 1d\n",
	      f);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* Calls the API and checks for a 2xx answer with a JSON object; prints the
 * server's error otherwise. Returns the object (caller frees) or NULL. */
static json_t *call(struct cli *c, const char *method, const char *path, json_t *body)
{
	char err[512];
	long status = 0;
	json_t *out = NULL;
	int r = apiclient_call(&c->api, method, path, body, &status, &out, err, sizeof(err));

	if (r) {
		fprintf(stderr, "yamori: %s\n", r == YM_E_NET ? err : ym_strerror(r));
		return NULL;
	}
	if (status < 200 || status > 299 || !json_is_object(out)) {
		const char *e = out ? jstr(out, "error") : "";
		fprintf(stderr, "yamori: %s %s: HTTP %ld%s%s\n", method, path, status,
			*e ? ": " : "", e);
		json_decref(out);
		return NULL;
	}
	return out;
}

static int print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

/* Appends "&name=value" URL-encoded. */
static int add_param(struct buf *q, const char *name, const char *value)
{
	char *e;
	int r;

	if (!value)
		return 0;
	e = curl_easy_escape(NULL, value, 0);
	if (!e)
		return YM_E_NOMEM;
	r = buf_printf(q, "%c%s=%s", q->len && memchr(q->data, '?', q->len) ? '&' : '?', name, e);
	curl_free(e);
	return r;
}

static int parse_since(const char *s, char out[32])
{
	uint64_t secs;
	if (util_parse_duration(s, &secs)) {
		fprintf(stderr, "yamori: bad duration '%s' (use 30s, 10m, 2h, 1d)\n", s);
		return -1;
	}
	snprintf(out, 32, "%llu", (unsigned long long)secs);
	return 0;
}

/* "process=bpf network=sock_diag" from {"process":"bpf",...}; "-" when empty */
static void kv_line(json_t *o, char *out, size_t outsz, int numbers)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	out[0] = 0;
	json_object_foreach(o, k, v)
	{
		int w;
		if (numbers)
			w = snprintf(out + n, outsz - n, "%s%s=%lld", n ? " " : "", k,
				     (long long)json_integer_value(v));
		else
			w = snprintf(out + n, outsz - n, "%s%s=%s", n ? " " : "", k,
				     json_string_value(v) ? json_string_value(v) : "?");
		if (w < 0 || (size_t)w >= outsz - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(out, outsz, "-");
}

static int cmd_agents(struct cli *c)
{
	json_t *j = call(c, "GET", "/api/v1/agents", NULL), *a;
	char sensors[256], drops[256];
	size_t i;

	if (!j)
		return 1;
	if (c->json)
		return print_json(j), json_decref(j), 0;
	printf("%-36s  %-12s  %-16s  %-24s  %9s  %8s\n", "AGENT", "TENANT", "HOSTNAME",
	       "LAST SEEN", "LAST SEQ", "EVENTS");
	json_array_foreach(json_object_get(j, "agents"), i, a)
	{
		kv_line(json_object_get(a, "sensors"), sensors, sizeof(sensors), 0);
		kv_line(json_object_get(a, "drops"), drops, sizeof(drops), 1);
		printf("%-36s  %-12s  %-16s  %-24s  %9lld  %8lld\n", jstr(a, "id"),
		       *jstr(a, "tenant") ? jstr(a, "tenant") : jstr(a, "tenant_id"),
		       jstr(a, "hostname"), jstr(a, "last_seen"), jint(a, "last_seq"),
		       jint(a, "events"));
		printf("    sensors: %s\n    dropped: %s\n", sensors,
		       strcmp(drops, "-") ? drops : "none");
	}
	json_decref(j);
	return 0;
}

/* ATT&CK tags: "attack.t1059.004" -> "T1059.004"; tactics as given. */
static void print_attack(json_t *tags)
{
	size_t i;
	json_t *t;
	int any = 0;

	printf("    att&ck:  ");
	json_array_foreach(tags, i, t)
	{
		const char *s = json_string_value(t);
		if (!s || strncmp(s, "attack.", 7) != 0)
			continue;
		s += 7;
		if ((s[0] == 't' || s[0] == 'T') && s[1] >= '0' && s[1] <= '9') {
			printf("%sT%s", any ? ", " : "", s + 1);
		} else {
			printf("%s%s", any ? ", " : "", s);
		}
		any = 1;
	}
	printf("%s\n", any ? "" : "-");
}

/* Walks up the process tree through the events API, by ParentProcessGuid,
 * and prints each ancestor the server has seen (at most depth levels). */
static void print_ancestors(struct cli *c, const char *agent, json_t *fields, int depth)
{
	const char *guid = jstr(fields, "ParentProcessGuid");
	char guidbuf[128];

	for (int level = 0; level < depth && *guid; level++) {
		struct buf q;
		json_t *j, *evs, *ev, *f;

		buf_init(&q, 1024);
		if (buf_put_str(&q, "/api/v1/events") || add_param(&q, "agent", agent) ||
		    add_param(&q, "process_guid", guid) || add_param(&q, "limit", "1")) {
			buf_free(&q);
			return;
		}
		j = call(c, "GET", (char *)q.data, NULL);
		buf_free(&q);
		if (!j)
			return;
		evs = json_object_get(j, "events");
		ev = json_array_get(evs, 0);
		f = json_object_get(ev, "fields");
		if (!f || strcmp(jstr(f, "ProcessGuid"), guid) != 0) {
			json_decref(j);
			return;
		}
		if (level > 0) /* level 0 is the parent, already printed from the alert */
			printf("    %*s^ %s (pid %s) %s\n", 2 * level, "", jstr(f, "Image"),
			       jstr(f, "ProcessId"), jstr(f, "CommandLine"));
		util_strlcpy(guidbuf, jstr(f, "ParentProcessGuid"), sizeof(guidbuf));
		guid = guidbuf;
		json_decref(j);
	}
}

static int cmd_alerts(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"since", required_argument, 0, 's'},
					     {"limit", required_argument, 0, 'l'},
					     {0, 0, 0, 0}};
	const char *limit = "100";
	char since[32] = "";
	struct buf q;
	json_t *j, *a;
	size_t i;
	int o, rc = 1;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's' && parse_since(optarg, since) == 0)
			continue;
		if (o == 'l') {
			limit = optarg;
			continue;
		}
		return 2;
	}
	buf_init(&q, 1024);
	if (buf_put_str(&q, "/api/v1/alerts") || add_param(&q, "limit", limit) ||
	    add_param(&q, "since", *since ? since : NULL))
		goto out;
	j = call(c, "GET", (char *)q.data, NULL);
	if (!j)
		goto out;
	if (c->json) {
		rc = print_json(j);
		json_decref(j);
		goto out;
	}
	json_array_foreach(json_object_get(j, "alerts"), i, a)
	{
		json_t *ev = json_object_get(a, "event");
		printf("[%s] %s  host=%s  %s\n", jstr(a, "level"), jstr(a, "time"), jstr(a, "host"),
		       jstr(a, "title"));
		printf("    rule:    %s\n", jstr(a, "rule_id"));
		print_attack(json_object_get(a, "tags"));
		printf("    process: %s (pid %s, user %s) %s\n", jstr(ev, "Image"),
		       jstr(ev, "ProcessId"), jstr(ev, "User"), jstr(ev, "CommandLine"));
		printf("    parent:  %s (pid %s) %s\n", jstr(ev, "ParentImage"),
		       jstr(ev, "ParentProcessId"), jstr(ev, "ParentCommandLine"));
		print_ancestors(c, jstr(a, "agent_id"), ev, 4);
	}
	printf("%zu alerts\n", json_array_size(json_object_get(j, "alerts")));
	json_decref(j);
	rc = 0;
out:
	buf_free(&q);
	return rc;
}

static int cmd_events(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"host", required_argument, 0, 'h'},
					     {"agent", required_argument, 0, 'a'},
					     {"category", required_argument, 0, 'c'},
					     {"since", required_argument, 0, 's'},
					     {"limit", required_argument, 0, 'l'},
					     {0, 0, 0, 0}};
	const char *host = NULL, *agent = NULL, *cat = NULL, *limit = "100";
	char since[32] = "";
	struct buf q;
	json_t *j, *e;
	size_t i;
	int o, rc = 1;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h': host = optarg; break;
		case 'a': agent = optarg; break;
		case 'c': cat = optarg; break;
		case 'l': limit = optarg; break;
		case 's':
			if (parse_since(optarg, since))
				return 2;
			break;
		default: return 2;
		}
	}
	buf_init(&q, 2048);
	if (buf_put_str(&q, "/api/v1/events") || add_param(&q, "host", host) ||
	    add_param(&q, "agent", agent) || add_param(&q, "category", cat) ||
	    add_param(&q, "since", *since ? since : NULL) || add_param(&q, "limit", limit))
		goto out;
	j = call(c, "GET", (char *)q.data, NULL);
	if (!j)
		goto out;
	if (c->json) {
		rc = print_json(j);
		json_decref(j);
		goto out;
	}
	printf("%-24s  %-16s  %8s  %-18s  %7s  %s\n", "TIME", "HOST", "SEQ", "CATEGORY", "PID",
	       "PROCESS");
	json_array_foreach(json_object_get(j, "events"), i, e)
	{
		json_t *f = json_object_get(e, "fields");
		printf("%-24s  %-16s  %8lld  %-18s  %7s  %s  %s\n", jstr(e, "time"), jstr(e, "host"),
		       jint(e, "seq"), jstr(e, "category"), jstr(f, "ProcessId"), jstr(f, "Image"),
		       jstr(f, "CommandLine"));
	}
	printf("%zu events\n", json_array_size(json_object_get(j, "events")));
	json_decref(j);
	rc = 0;
out:
	buf_free(&q);
	return rc;
}

static void print_action(json_t *a)
{
	printf("action %s: %s pid %lld on agent %s\n", jstr(a, "id"), jstr(a, "type"),
	       jint(a, "pid"), jstr(a, "agent_id"));
	printf("  status:       %s\n", jstr(a, "status"));
	printf("  requested by: %s at %s\n", jstr(a, "requested_by"), jstr(a, "requested_at"));
	if (*jstr(a, "completed_at"))
		printf("  completed at: %s\n", jstr(a, "completed_at"));
	if (*jstr(a, "detail"))
		printf("  detail:       %s\n", jstr(a, "detail"));
}

static int terminal_status(const char *s)
{
	return !strcmp(s, "done") || !strcmp(s, "refused") || !strcmp(s, "failed") ||
	       !strcmp(s, "expired");
}

static int cmd_action_show(struct cli *c, const char *id, json_t **out)
{
	char path[256];
	json_t *j;

	if (strlen(id) > 64 || strspn(id, "0123456789abcdef-") != strlen(id)) {
		fprintf(stderr, "yamori: bad action id\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/api/v1/actions/%s", id);
	j = call(c, "GET", path, NULL);
	if (!j)
		return 1;
	*out = j;
	return 0;
}

static int cmd_kill(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"agent", required_argument, 0, 'a'},
					     {"pid", required_argument, 0, 'p'},
					     {"start-time", required_argument, 0, 's'},
					     {"no-wait", no_argument, 0, 'n'},
					     {"wait", required_argument, 0, 'w'},
					     {0, 0, 0, 0}};
	const char *agent = NULL;
	uint64_t pid = 0, st = 0, wait_s = 30;
	int have_st = 0, nowait = 0, o, rc = 1;
	json_t *req = NULL, *j = NULL, *a = NULL;
	char id[64];

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': agent = optarg; break;
		case 'p':
			if (util_parse_u64(optarg, 2, 4194304, &pid)) {
				fprintf(stderr, "yamori: bad pid '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (util_parse_u64(optarg, 0, UINT64_MAX, &st)) {
				fprintf(stderr, "yamori: bad start time '%s'\n", optarg);
				return 2;
			}
			have_st = 1;
			break;
		case 'w':
			if (util_parse_u64(optarg, 1, 600, &wait_s))
				return 2;
			break;
		case 'n': nowait = 1; break;
		default: return 2;
		}
	}
	if (!agent || !pid) {
		fprintf(stderr, "yamori: kill needs --agent A --pid P\n");
		return 2;
	}
	req = json_pack("{s:s, s:s, s:I}", "type", "kill", "agent_id", agent, "pid", (json_int_t)pid);
	if (!req)
		return 1;
	if (have_st)
		json_object_set_new(req, "start_time", json_integer((json_int_t)st));
	j = call(c, "POST", "/api/v1/actions", req);
	if (!j)
		goto out;
	util_strlcpy(id, jstr(j, "id"), sizeof(id));
	printf("action %s queued: kill pid %llu on agent %s\n", id, (unsigned long long)pid, agent);
	if (nowait) {
		rc = 0;
		goto out;
	}
	for (uint64_t waited = 0; waited <= wait_s * 10; waited++) {
		json_decref(a);
		a = NULL;
		if (cmd_action_show(c, id, &a))
			goto out;
		if (terminal_status(jstr(a, "status")))
			break;
		usleep(100000);
	}
	print_action(a);
	rc = strcmp(jstr(a, "status"), "done") == 0 ? 0 : 1;
out:
	json_decref(a);
	json_decref(j);
	json_decref(req);
	return rc;
}

static int cmd_audit(struct cli *c, int argc, char **argv)
{
	const char *limit = "50";
	char path[128];
	json_t *j, *e;
	size_t i;

	if (argc == 3 && strcmp(argv[1], "--limit") == 0)
		limit = argv[2];
	else if (argc != 1)
		return 2;
	if (strspn(limit, "0123456789") != strlen(limit) || strlen(limit) > 9)
		return 2;
	snprintf(path, sizeof(path), "/api/v1/audit?limit=%s", limit);
	j = call(c, "GET", path, NULL);
	if (!j)
		return 1;
	if (c->json)
		return print_json(j), json_decref(j), 0;
	json_array_foreach(json_object_get(j, "audit"), i, e)
	{
		printf("%s  %-16s  %-20s  %s  %s\n", jstr(e, "time"), jstr(e, "actor"),
		       jstr(e, "action"), jstr(e, "target"), jstr(e, "detail"));
	}
	json_decref(j);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, 0, 's'},
					     {"token", required_argument, 0, 't'},
					     {"ca", required_argument, 0, 'c'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {"version", no_argument, 0, 'V'},
					     {0, 0, 0, 0}};
	struct cli c = {0};
	const char *cmd;
	int o, rc;

	c.api.server = getenv("YAMORI_SERVER");
	c.api.token = getenv("YAMORI_TOKEN");
	c.api.ca = getenv("YAMORI_CA");
	c.api.timeout_s = 30;
	/* '+': stop at the first non-option, the command takes its own options */
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 's': c.api.server = optarg; break;
		case 't': c.api.token = optarg; break;
		case 'c': c.api.ca = optarg; break;
		case 'j': c.json = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("yamori %s\n", YM_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;

	if (strcmp(cmd, "rules") == 0) {
		if (argc < 2 || strcmp(argv[1], "check") != 0) {
			fprintf(stderr, "usage: yamori rules check [--quiet] [--placeholders FILE] PATH...\n");
			return 2;
		}
		return rulescheck_main(argc - 1, argv + 1);
	}

	if (strcmp(cmd, "scan") == 0)
		return scan_run(argc, argv);
	if (strcmp(cmd, "intel") == 0) {
		if (argc < 2 || strcmp(argv[1], "check") != 0) {
			fprintf(stderr, "usage: yamori intel check FILE...\n");
			return 2;
		}
		return scan_intel_check(argc - 1, argv + 1);
	}

	if (!c.api.server) {
		c.api.server = "https://127.0.0.1:8443";
	}
	if (!c.api.token) {
		fprintf(stderr, "yamori: no API token (--token or YAMORI_TOKEN)\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(cmd, "agents") == 0) {
		rc = cmd_agents(&c);
	} else if (strcmp(cmd, "alerts") == 0) {
		rc = cmd_alerts(&c, argc, argv);
	} else if (strcmp(cmd, "events") == 0) {
		rc = cmd_events(&c, argc, argv);
	} else if (strcmp(cmd, "kill") == 0) {
		rc = cmd_kill(&c, argc, argv);
	} else if (strcmp(cmd, "action") == 0 && argc == 2) {
		json_t *a = NULL;
		rc = cmd_action_show(&c, argv[1], &a);
		if (rc == 0) {
			if (c.json)
				print_json(a);
			else
				print_action(a);
		}
		json_decref(a);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = cmd_audit(&c, argc, argv);
	} else {
		fprintf(stderr, "yamori: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	if (rc == 2)
		fprintf(stderr, "yamori: see 'yamori --help'\n");
	return rc;
}
