/* Unit tests for lib/intel: indicator syntax and normalisation, every
 * kind's hits and near misses, list and CSV loading with diagnostics, and
 * one million random SHA-256 indicators loaded and checked hit by hit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "intel.h"
#include "intel_int.h"
#include "util.h"

struct got {
	int n;
	char kind[16], indicator[2100], source[64], description[128], field[64];
};

static int on_hit(const struct intel_hit *h, const struct event *ev, void *ctx)
{
	struct got *g = ctx;
	(void)ev;
	g->n++;
	snprintf(g->kind, sizeof(g->kind), "%s", intel_kind_name(h->kind));
	snprintf(g->indicator, sizeof(g->indicator), "%s", h->indicator);
	snprintf(g->source, sizeof(g->source), "%s", h->source);
	snprintf(g->description, sizeof(g->description), "%s", h->description);
	snprintf(g->field, sizeof(g->field), "%s", h->field);
	return 0;
}

/* Matches one event with one field; returns the hit count, details in g. */
static int match1(const struct intel_set *s, const char *field, const char *value, struct got *g)
{
	struct event ev;

	memset(g, 0, sizeof(*g));
	event_init(&ev);
	assert_int_equal(event_set_str(&ev, field, value), 0);
	return intel_match(s, &ev, on_hit, g);
}

static struct intel_set *build(const char *const *ind, size_t n)
{
	struct intel_builder *b;
	struct intel_set *s;
	char why[160];

	assert_int_equal(intel_builder_new(&b), 0);
	for (size_t i = 0; i < n; i++) {
		int r = intel_builder_add(b, 0, ind[i], "test", "desc", why, sizeof(why));
		if (r)
			fail_msg("add %s: %s", ind[i], why);
	}
	assert_int_equal(intel_builder_finish(b, &s), 0);
	return s;
}

#define SHA_A  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B  "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
#define MD5_A  "098f6bcd4621d373cade4e832627b4f6"
#define SHA1_A "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"

static void test_hashes(void **state)
{
	static const char *const ind[] = {
	    SHA_A, "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752", MD5_A,
	    SHA1_A};
	struct intel_set *s = build(ind, 4);
	struct got g;
	(void)state;

	assert_int_equal(intel_set_count(s), 4);
	/* the agent's format */
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_A, &g), 1);
	assert_string_equal(g.kind, "sha256");
	assert_string_equal(g.indicator, SHA_A);
	assert_string_equal(g.field, "Hashes");
	assert_string_equal(g.source, "test");
	assert_string_equal(g.description, "desc");
	/* Sysmon's format, upper case, indicator loaded in upper case */
	assert_int_equal(match1(s, "Hashes",
				"MD5=098F6BCD4621D373CADE4E832627B4F6,SHA256="
				"60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752,"
				"IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744",
				&g),
			 2);
	/* ';' and ' ' separate too, wherever they fall in a word of 8 bytes */
	assert_int_equal(match1(s, "Hashes", "x;SHA256=" SHA_A, &g), 1);
	assert_int_equal(match1(s, "Hashes", "IMPHASH=1234567 SHA256=" SHA_A, &g), 1);
	assert_int_equal(match1(s, "Hashes", "IMPHASH=12345678;SHA256=" SHA_A ",", &g), 1);
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_A ";MD5=" MD5_A " x", &g), 2);
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_A "x;MD5=" MD5_A, &g), 1);
	assert_int_equal(match1(s, "Event.EventData.Hashes", "SHA1=" SHA1_A, &g), 1);
	assert_string_equal(g.kind, "sha1");
	assert_int_equal(match1(s, "sha256", SHA_B, &g), 1);
	assert_int_equal(match1(s, "md5", MD5_A, &g), 1);
	/* misses: one digit off, wrong kind's field, IMPHASH equal to an MD5, other fields */
	assert_int_equal(match1(s, "Hashes",
				"SHA256="
				"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a09",
				&g),
			 0);
	assert_int_equal(match1(s, "sha1", MD5_A, &g), 0);
	assert_int_equal(match1(s, "Hashes", "IMPHASH=" MD5_A, &g), 0);
	assert_int_equal(match1(s, "CommandLine", SHA_A, &g), 0);
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_A "0", &g), 0);
	intel_set_free(s);
}

static void test_ips(void **state)
{
	static const char *const ind[] = {"10.0.0.0/8",	   "10.1.2.0/24",      "192.0.2.7",
					  "2001:db8::/32", "198.51.100.10/31", "203.0.113.0/24"};
	struct intel_set *s = build(ind, 6);
	struct got g;
	(void)state;

	assert_int_equal(match1(s, "DestinationIp", "10.200.3.4", &g), 1);
	assert_string_equal(g.indicator, "10.0.0.0/8");
	assert_int_equal(match1(s, "DestinationIp", "10.1.2.255", &g), 1);
	assert_string_equal(g.indicator, "10.1.2.0/24"); /* the smallest containing range */
	assert_int_equal(match1(s, "SourceIp", "10.1.3.0", &g), 1);
	assert_string_equal(g.indicator, "10.0.0.0/8");
	assert_int_equal(match1(s, "DestinationIp", "11.0.0.0", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "9.255.255.255", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "192.0.2.7", &g), 1);
	assert_string_equal(g.indicator, "192.0.2.7");
	assert_int_equal(match1(s, "DestinationIp", "192.0.2.8", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "192.0.2.6", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "198.51.100.11", &g), 1);
	assert_int_equal(match1(s, "DestinationIp", "198.51.100.12", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "::ffff:203.0.113.9", &g), 1);
	assert_string_equal(g.indicator, "203.0.113.0/24");
	assert_int_equal(match1(s, "DestinationIp", "2001:db8:ffff::1", &g), 1);
	assert_string_equal(g.indicator, "2001:db8::/32");
	assert_int_equal(match1(s, "DestinationIp", "2001:db9::1", &g), 0);
	assert_int_equal(match1(s, "DestinationIp", "not an ip", &g), 0);
	/* a host name field holding an address is looked up as one */
	assert_int_equal(match1(s, "DestinationHostname", "10.9.9.9", &g), 1);
	intel_set_free(s);
}

static void test_domains_urls(void **state)
{
	static const char *const ind[] = {"evil.com", "*.bad.example.org",
					  "hxxp://Phish[.]Example.NET:80/Login?x=1#frag",
					  "https://host.test:8443/a"};
	struct intel_set *s = build(ind, 4);
	struct got g;
	(void)state;

	assert_int_equal(match1(s, "QueryName", "evil.com", &g), 1);
	assert_string_equal(g.kind, "domain");
	assert_int_equal(match1(s, "QueryName", "A.B.EVIL.com.", &g), 1);
	assert_string_equal(g.indicator, "evil.com");
	assert_int_equal(match1(s, "QueryName", "notevil.com", &g), 0);
	assert_int_equal(match1(s, "QueryName", "evil.com.au", &g), 0);
	assert_int_equal(match1(s, "QueryName", "com", &g), 0);
	assert_int_equal(match1(s, "DestinationHostname", "x.bad.example.org", &g), 1);
	assert_int_equal(match1(s, "DestinationHostname", "example.org", &g), 0);
	/* URL normalisation: scheme/host case, default port, fragment */
	assert_int_equal(match1(s, "Url", "http://phish.example.net/Login?x=1", &g), 1);
	assert_string_equal(g.kind, "url");
	assert_string_equal(g.indicator, "http://phish.example.net/Login?x=1");
	assert_int_equal(match1(s, "url", "HTTP://user:pw@PHISH.example.net:80/Login?x=1#y", &g),
			 1);
	assert_int_equal(match1(s, "Url", "http://phish.example.net/login?x=1", &g),
			 0); /* path case */
	assert_int_equal(match1(s, "Url", "https://host.test:8443/a", &g), 1);
	assert_int_equal(match1(s, "Url", "https://host.test/a", &g), 0);
	/* a URL's host is a domain lookup too */
	assert_int_equal(match1(s, "Url", "https://cdn.evil.com/x.sh", &g), 1);
	assert_string_equal(g.kind, "domain");
	intel_set_free(s);
}

/* The address parser against inet_pton, on near-addresses: dotted parts of
 * 0-4 digits (leading zeros, 256 and up), too few or many parts, stray
 * bytes, IPv6 forms. */
static uint64_t ip_rng(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

static void test_ip_parse_vs_inet_pton(void **state)
{
	static const char alpha[] = "0123456789..::abf x%";
	static const char *const six[] = {"::1", "fe80::1", "::ffff:1.2.3.4", "2001:db8::", "::",
					  "1::2::3", ":::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
					  "::ffff:256.1.1.1", "ABCD:ef01::", "1:2:3:4:5:6:1.2.3.4"};
	uint64_t seed = 0x2545f4914f6cdd1dull;
	int ok4 = 0, ok6 = 0;
	(void)state;
	for (int i = 0; i < 200000; i++) {
		char txt[64];
		size_t n = 0;
		unsigned char bin[16];
		unsigned __int128 lo, hi, want = 0;
		int v6 = -1, r, e4, e6, mode = (int)(ip_rng(&seed) % 3);
		if (mode == 0) { /* dotted parts */
			unsigned parts = 3 + (unsigned)(ip_rng(&seed) % 3);
			for (unsigned k = 0; k < parts; k++) {
				unsigned digits = (unsigned)(ip_rng(&seed) % 5);
				if (k)
					txt[n++] = '.';
				for (unsigned d = 0; d < digits; d++)
					txt[n++] = (char)('0' + ip_rng(&seed) % (d == 0 ? 3 : 10));
			}
		} else if (mode == 1) { /* any bytes of the alphabet */
			n = (size_t)(ip_rng(&seed) % 24);
			for (size_t k = 0; k < n; k++)
				txt[k] = alpha[ip_rng(&seed) % (sizeof(alpha) - 1)];
		} else {
			n = (size_t)snprintf(txt, sizeof(txt), "%s", six[ip_rng(&seed) % 12]);
		}
		txt[n] = 0;
		if (n == 0)
			continue;
		e4 = inet_pton(AF_INET, txt, bin) == 1;
		if (e4)
			want = (unsigned __int128)((uint32_t)bin[0] << 24 | (uint32_t)bin[1] << 16 |
						   (uint32_t)bin[2] << 8 | bin[3]);
		e6 = !e4 && inet_pton(AF_INET6, txt, bin) == 1;
		if (e6) {
			for (int k = 0; k < 16; k++)
				want = want << 8 | bin[k];
			if ((want >> 32) == 0xffff) { /* ::ffff:a.b.c.d is a.b.c.d */
				want &= 0xffffffffu;
				e6 = 0;
				e4 = 1;
			}
		}
		r = intel_text_ip(txt, n, 0, &v6, &lo, &hi);
		if ((r == 0) != (e4 || e6) || (r == 0 && (lo != want || hi != want || v6 != e6)))
			fail_msg("'%s': intel_text_ip %d (v6 %d), inet_pton says %s", txt, r, v6,
				 e4 ? "IPv4" : e6 ? "IPv6" : "no address");
		ok4 += e4;
		ok6 += e6;
	}
	assert_true(ok4 > 1000);
	assert_true(ok6 > 1000);
}

static void test_syntax(void **state)
{
	struct intel_builder *b;
	struct intel_set *s;
	char why[160];
	(void)state;

	assert_int_equal(intel_builder_new(&b), 0);
	assert_int_equal(intel_builder_add(b, 0, "hello", NULL, NULL, why, sizeof(why)),
			 YM_E_INVAL);
	assert_non_null(strstr(why, "not a recognised"));
	assert_int_equal(intel_builder_add(b, INTEL_SHA256, MD5_A, NULL, NULL, why, sizeof(why)),
			 YM_E_INVAL);
	assert_non_null(strstr(why, "SHA-256"));
	assert_int_equal(intel_builder_add(b, 0, "10.0.0.0/33", NULL, NULL, why, sizeof(why)),
			 YM_E_INVAL);
	assert_int_equal(intel_builder_add(b, INTEL_IP, "10.0.0.1/8", NULL, NULL, why, sizeof(why)),
			 0);
	assert_int_equal(
	    intel_builder_add(b, INTEL_DOMAIN, "bad..com", NULL, NULL, why, sizeof(why)),
	    YM_E_INVAL);
	assert_int_equal(
	    intel_builder_add(b, INTEL_DOMAIN, "ünicode.com", NULL, NULL, why, sizeof(why)),
	    YM_E_INVAL);
	assert_int_equal(
	    intel_builder_add(b, INTEL_URL, "evil.com/x", NULL, NULL, why, sizeof(why)),
	    YM_E_INVAL);
	assert_int_equal(intel_builder_add(b, 0, "", NULL, NULL, why, sizeof(why)), YM_E_INVAL);
	assert_int_equal(intel_builder_add(b, 0, SHA_A, NULL, NULL, why, sizeof(why)), 0);
	assert_int_equal(intel_builder_add(b, 0, SHA_A, "other", NULL, why, sizeof(why)), 0);
	assert_int_equal(intel_builder_finish(b, &s), 0);
	assert_int_equal(intel_set_count(s), 2); /* the duplicate merged; /8 canonical */
	{
		struct got g;
		assert_int_equal(match1(s, "DestinationIp", "10.255.0.1", &g), 1);
		assert_string_equal(g.indicator, "10.0.0.0/8");
		assert_int_equal(match1(s, "sha256", SHA_A, &g), 1);
		assert_string_equal(g.source, ""); /* the first one added wins */
	}
	intel_set_free(s);
	/* an empty set matches nothing, and NULL is an empty set */
	assert_int_equal(intel_builder_new(&b), 0);
	assert_int_equal(intel_builder_finish(b, &s), 0);
	{
		struct got g;
		assert_int_equal(match1(s, "sha256", SHA_A, &g), 0);
		assert_int_equal(match1(NULL, "sha256", SHA_A, &g), 0);
	}
	intel_set_free(s);
}

struct diags {
	int n;
	char text[16][200];
};

static void on_diag(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct diags *d = ctx;
	if (d->n < 16)
		snprintf(d->text[d->n], sizeof(d->text[0]), "%s:%u: %s", file, line, reason);
	d->n++;
}

static void test_load_list(void **state)
{
	static const char list[] = "# a comment\n"
				   "\n" SHA_A "  /usr/bin/evil\n" /* sha256sum output */
	    SHA_B " */tmp/x\n"					  /* binary mode marker */
				   "evil[.]com\tC2 domain\r\n"	  /* defanged, CRLF */
				   "not-an-indicator\n"
				   "10.0.0.0/40\n"
				   "hxxps://x.test/p\n";
	struct intel_builder *b;
	struct intel_set *s;
	struct diags d = {0};
	size_t added = 0, rejected = 0;
	struct got g;
	(void)state;

	assert_int_equal(intel_builder_new(&b), 0);
	assert_int_equal(intel_builder_load_mem(b, list, sizeof(list) - 1, "feed.txt", NULL, &added,
						&rejected, on_diag, &d),
			 0);
	assert_int_equal(added, 4);
	assert_int_equal(rejected, 2);
	assert_int_equal(d.n, 2);
	assert_string_equal(
	    d.text[0], "feed.txt:6: not a recognised indicator (hash, IP, CIDR, domain or URL)");
	assert_string_equal(
	    d.text[1], "feed.txt:7: not a recognised indicator (hash, IP, CIDR, domain or URL)");
	assert_int_equal(intel_builder_finish(b, &s), 0);
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_A, &g), 1);
	assert_string_equal(g.source, "feed.txt");
	assert_string_equal(g.description, "/usr/bin/evil");
	assert_int_equal(match1(s, "Hashes", "SHA256=" SHA_B, &g), 1);
	assert_string_equal(g.description, "/tmp/x");
	assert_int_equal(match1(s, "QueryName", "www.evil.com", &g), 1);
	assert_string_equal(g.description, "C2 domain");
	assert_int_equal(match1(s, "Url", "https://x.test/p", &g), 1);
	intel_set_free(s);
}

static void test_load_csv(void **state)
{
	static const char csv[] = "uuid,type,value,comment,to_ids\n" /* MISP export columns */
				  "1,sha256," SHA_A ",\"dropper, stage 1\",1\n"
				  "2,ip-dst,192.0.2.1,\"said \"\"hi\"\"\",1\n"
				  "3,domain,evil.com,,1\n"
				  "4,mutex,Global\\x,,1\n"
				  "5,md5,nothex,,1\n"
				  "6,url,\"http://a.test/,x\",1\n"
				  "7,url,\"unterminated,,1\n"
				  "8,ip-dst\n";
	static const char kinds[] =
	    "md5,sha1,sha256,description\n" MD5_A ",," SHA_B ",two at once\n";
	struct intel_builder *b;
	struct intel_set *s;
	struct diags d = {0};
	size_t added = 0, rejected = 0;
	struct got g;
	(void)state;

	assert_int_equal(intel_builder_new(&b), 0);
	assert_int_equal(intel_builder_load_mem(b, csv, sizeof(csv) - 1, "misp.csv", "misp", &added,
						&rejected, on_diag, &d),
			 0);
	assert_int_equal(added, 3);
	assert_int_equal(rejected, 5);
	assert_string_equal(d.text[0], "misp.csv:5: unknown indicator type");
	assert_string_equal(d.text[1], "misp.csv:6: not an MD5 (32 hex digits)");
	assert_string_equal(d.text[2], "misp.csv:7: wrong number of columns");
	assert_string_equal(d.text[3], "misp.csv:8: unterminated quoted field");
	assert_string_equal(d.text[4], "misp.csv:9: wrong number of columns");
	assert_int_equal(intel_builder_load_mem(b, kinds, sizeof(kinds) - 1, "k.csv", NULL, &added,
						&rejected, on_diag, &d),
			 0);
	assert_int_equal(added, 5);
	assert_int_equal(intel_builder_finish(b, &s), 0);
	assert_int_equal(match1(s, "sha256", SHA_A, &g), 1);
	assert_string_equal(g.description, "dropper, stage 1");
	assert_string_equal(g.source, "misp");
	assert_int_equal(match1(s, "DestinationIp", "192.0.2.1", &g), 1);
	assert_string_equal(g.description, "said \"hi\"");
	assert_int_equal(match1(s, "md5", MD5_A, &g), 1);
	assert_string_equal(g.description, "two at once");
	assert_int_equal(match1(s, "sha256", SHA_B, &g), 1);
	intel_set_free(s);
}

static void test_load_file_errors(void **state)
{
	struct intel_builder *b;
	size_t added = 0, rejected = 0;
	(void)state;

	assert_int_equal(intel_builder_new(&b), 0);
	assert_int_equal(
	    intel_builder_load_file(b, "/nonexistent/x.txt", NULL, &added, &rejected, NULL, NULL),
	    YM_E_IO);
	intel_builder_free(b);
}

/* xorshift64*: reproducible random keys */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void rand_hex(uint64_t *seed, char out[65])
{
	uint8_t k[32];
	for (int i = 0; i < 4; i++) {
		uint64_t v = rnd(seed);
		memcpy(k + 8 * i, &v, 8);
	}
	util_hex(k, 32, out);
}

#define MILLION 1000000

struct mt {
	const struct intel_set *s;
	uint64_t seed;
	int hits, misses;
};

/* Looks the first n keys of seed up (all must hit) and n keys of another
 * seed (none may). */
static void *check_keys(void *arg)
{
	struct mt *m = arg;
	struct event ev;
	char hex[65], val[80];
	uint64_t seed = m->seed, other = m->seed ^ 0x5555aaaa5555aaaaull;

	for (int i = 0; i < MILLION; i++) {
		rand_hex(&seed, hex);
		snprintf(val, sizeof(val), "SHA256=%s", hex);
		event_init(&ev);
		event_set_str(&ev, "Hashes", val);
		m->hits += intel_match(m->s, &ev, NULL, NULL) == 1;
		rand_hex(&other, hex);
		event_init(&ev);
		event_set_str(&ev, "sha256", hex);
		m->misses += intel_match(m->s, &ev, NULL, NULL) == 0;
	}
	return NULL;
}

/* Every field name docs/intel.md lists is looked at, in any case and as
 * the last dotted part; names that only share length and first letter
 * with one (what the quick first-letter filter lets through) are not. */
static void test_field_names(void **state)
{
	static const char *const ind[] = {SHA_A, "192.0.2.1", "evil.example",
					  "http://evil.example/x"};
	static const struct {
		const char *name, *value;
		int hits;
	} c[] = {
	    {"Hashes", "SHA256=" SHA_A, 1},
	    {"hash", SHA_A, 1},
	    {"Event.EventData.FileHash", SHA_A, 1},
	    {"SHA256", SHA_A, 1},
	    {"process.sha256", SHA_A, 1},
	    {"DestinationIp", "192.0.2.1", 1},
	    {"sourceip", "192.0.2.1", 1},
	    {"IPADDRESS", "192.0.2.1", 1},
	    {"ClientIp", "192.0.2.1", 1},
	    {"net.dst_ip", "192.0.2.1", 1},
	    {"src_ip", "192.0.2.1", 1},
	    {"DestinationHostname", "a.evil.example", 1},
	    {"dns.QueryName", "evil.example", 1},
	    {"Domain", "evil.example", 1},
	    {"url", "http://evil.example/x", 2}, /* the URL and its host */
	    {"Uri", "http://evil.example/y", 1}, /* its host only */
	    /* same length and first letter as a listed name: not looked at */
	    {"Hashed", "SHA256=" SHA_A, 0},
	    {"SourceIq", "192.0.2.1", 0},
	    {"DestinationIpAddr", "192.0.2.1", 0},
	    {"Dsx_ip", "192.0.2.1", 0},
	    {"DestinationHostnamX", "evil.example", 0},
	    {"Ip", "192.0.2.1", 0},
	    {"Image", "evil.example", 0},
	    {"a.", "192.0.2.1", 0},
	    {"ThisIsAFieldNameLongerThanAnyListedOneByFar", "192.0.2.1", 0},
	};
	struct intel_set *s = build(ind, sizeof(ind) / sizeof(ind[0]));
	struct got g;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (match1(s, c[i].name, c[i].value, &g) != c[i].hits)
			fail_msg("%s: %d hits, want %d", c[i].name, g.n, c[i].hits);
	}
	/* interned names (event.h), whose classes are kept by id: the same
	 * answers the first time and from the kept class, in any order */
	for (int round = 0; round < 2; round++) {
		for (size_t j = 0; j < sizeof(c) / sizeof(c[0]); j++) {
			size_t i = round ? sizeof(c) / sizeof(c[0]) - 1 - j : j;
			const char *in = event_name_intern(c[i].name, strlen(c[i].name));
			assert_non_null(in);
			assert_int_not_equal(event_name_id(in), 0);
			if (match1(s, in, c[i].value, &g) != c[i].hits)
				fail_msg("interned %s (round %d): %d hits, want %d", in, round, g.n,
					 c[i].hits);
		}
	}
	intel_set_free(s);
}

static void test_million(void **state)
{
	struct intel_builder *b;
	struct intel_set *s;
	char hex[65], why[160];
	uint64_t seed = 0x9e3779b97f4a7c15ull, t0, t1;
	struct mt m[2];
	pthread_t th;
	(void)state;

	assert_int_equal(intel_builder_new(&b), 0);
	t0 = util_mono_ns();
	for (int i = 0; i < MILLION; i++) {
		rand_hex(&seed, hex);
		if (i % 2)
			for (char *p = hex; *p; p++)
				*p = (char)(*p >= 'a' ? *p - 32 : *p); /* upper case half */
		assert_int_equal(
		    intel_builder_add(b, INTEL_SHA256, hex, "rnd", "", why, sizeof(why)), 0);
	}
	assert_int_equal(intel_builder_finish(b, &s), 0);
	t1 = util_mono_ns();
	assert_int_equal(intel_set_count(s), MILLION);
	fprintf(stderr, "# 1M SHA-256: built in %.2f s, %zu bytes (%.1f per indicator)\n",
		(double)(t1 - t0) / 1e9, intel_set_bytes(s), (double)intel_set_bytes(s) / MILLION);
	/* the tables are key + 4 bytes per SHA-256, plus a fixed index, plus
	 * the bloom filter (12 bits per key, blocks rounded up to a power of 2) */
	assert_true(intel_set_bytes(s) < (size_t)MILLION * (37 + 3) + (1u << 20));
	/* two threads at once on the same set */
	m[0] = (struct mt){s, 0x9e3779b97f4a7c15ull, 0, 0};
	m[1] = m[0];
	assert_int_equal(pthread_create(&th, NULL, check_keys, &m[1]), 0);
	check_keys(&m[0]);
	pthread_join(th, NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(m[i].hits, MILLION);
		assert_int_equal(m[i].misses, MILLION);
	}
	intel_set_free(s);
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The blocked bloom filter alone: no false negatives over 1 M random
 * indicators, and few false positives over 1 M others. */
static void test_bloom(void **state)
{
	struct intel_bloom bl;
	uint64_t x = 0x2545f4914f6cdd1dull, fp = 0;
	(void)state;

	assert_int_equal(intel_bloom_init(&bl, 0), 0);
	assert_int_equal(intel_bloom_maybe(&bl, 42), 1); /* no filter: maybe */
	assert_int_equal(intel_bloom_init(&bl, MILLION), 0);
	for (int i = 0; i < MILLION; i++)
		intel_bloom_add(&bl, xorshift(&x));
	x = 0x2545f4914f6cdd1dull;
	for (int i = 0; i < MILLION; i++)
		assert_int_equal(intel_bloom_maybe(&bl, xorshift(&x)), 1);
	/* sequential keys, not random: the filter must spread them itself */
	for (uint64_t i = 0; i < MILLION; i++)
		fp += (uint64_t)intel_bloom_maybe(&bl, i << 20);
	fprintf(stderr, "# bloom: %llu false positives in 1 M\n", (unsigned long long)fp);
	assert_true(fp < MILLION / 50);
	intel_bloom_free(&bl);
	assert_int_equal(intel_bloom_maybe(&bl, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hashes),	     cmocka_unit_test(test_ips),
	    cmocka_unit_test(test_ip_parse_vs_inet_pton),
	    cmocka_unit_test(test_domains_urls),     cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_load_list),	     cmocka_unit_test(test_load_csv),
	    cmocka_unit_test(test_load_file_errors), cmocka_unit_test(test_million),
	    cmocka_unit_test(test_field_names),	     cmocka_unit_test(test_bloom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
