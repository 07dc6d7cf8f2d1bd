#include "family_dns_parse.h"
#include "buf.h"
#include "err.h"
#include "family_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_HDR 12

/* Reads a (possibly compressed) name starting at the cursor's offset of the
 * whole message msg. Moves c past the name as it sits in place. Appends the
 * text into out (outsz) when out is not NULL. */
static int dns_name(const struct cursor *msg, struct cursor *c, char *out, size_t outsz,
		    size_t *outlen)
{
	struct cursor r = *c;
	size_t wire = 0, o = 0, lowest = c->off;
	int jumps = 0, jumped = 0;

	for (;;) {
		uint8_t len;
		const uint8_t *lab;
		int rc = cursor_get_u8(&r, &len);

		if (rc != 0)
			return rc;
		if ((len & 0xc0) == 0xc0) {
			uint8_t lo;
			size_t target;

			if ((rc = cursor_get_u8(&r, &lo)) != 0)
				return rc;
			target = (size_t)(len & 0x3f) << 8 | lo;
			/* only backwards, before every label read so far: no loop */
			if (target >= lowest || ++jumps > FAMILY_DNS_JUMPS)
				return YM_E_PARSE;
			if (!jumped)
				c->off = r.off;
			jumped = 1;
			lowest = target;
			r = *msg;
			r.off = target;
			continue;
		}
		if ((len & 0xc0) != 0)
			return YM_E_PARSE; /* 0x40 / 0x80: obsolete label types */
		wire += (size_t)len + 1;
		if (wire > 255)
			return YM_E_PARSE;
		if (len == 0)
			break;
		if ((rc = cursor_get_bytes(&r, len, &lab)) != 0)
			return rc;
		if (out != NULL) {
			if (o != 0 && o + 1 < outsz)
				out[o++] = '.';
			for (size_t i = 0; i < len; i++) {
				uint8_t b = lab[i];

				if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
				    (b >= '0' && b <= '9') || b == '-' || b == '_') {
					if (o + 1 < outsz)
						out[o++] = (char)b;
				} else if (o + 4 < outsz) {
					/* RFC 1035 \DDD: dots, separators, control bytes */
					snprintf(out + o, 5, "\\%03u", b);
					o += 4;
				}
			}
		}
	}
	if (!jumped)
		c->off = r.off;
	if (out != NULL) {
		if (o == 0 && outsz > 1)
			out[o++] = '.';
		out[o] = '\0';
		*outlen = o;
	}
	return 0;
}

static void dns_append(struct family_dns_msg *m, const char *s, size_t n)
{
	size_t need = n + (m->answers_len != 0);

	if (m->answers_len + need + 1 > sizeof(m->answers))
		return;
	if (m->answers_len != 0)
		m->answers[m->answers_len++] = ';';
	memcpy(m->answers + m->answers_len, s, n);
	m->answers_len += n;
	m->answers[m->answers_len] = '\0';
	m->nanswers++;
}

static int dns_parse(const uint8_t *p, size_t n, int cut, struct family_dns_msg *out)
{
	struct family_dns_msg m;
	struct cursor msg, c;
	uint16_t id, flags, qd, an, ns, ar, qclass;
	int rc;

	memset(&m, 0, sizeof(m));
	cursor_init(&msg, p, n);
	c = msg;
	if ((rc = cursor_get_u16(&c, &id)) != 0 || (rc = cursor_get_u16(&c, &flags)) != 0 ||
	    (rc = cursor_get_u16(&c, &qd)) != 0 || (rc = cursor_get_u16(&c, &an)) != 0 ||
	    (rc = cursor_get_u16(&c, &ns)) != 0 || (rc = cursor_get_u16(&c, &ar)) != 0)
		return rc;
	if (qd != 1 || ((flags >> 11) & 0xf) != 0) /* one question, standard query */
		return YM_E_PARSE;
	m.id = id;
	m.qr = (uint8_t)(flags >> 15);
	m.rcode = (uint8_t)(flags & 0xf);
	if ((rc = dns_name(&msg, &c, m.qname, sizeof(m.qname), &m.qname_len)) != 0 ||
	    (rc = cursor_get_u16(&c, &m.qtype)) != 0 || (rc = cursor_get_u16(&c, &qclass)) != 0)
		return rc;
	for (unsigned i = 0; m.qr && i < an && i < FAMILY_DNS_RR_MAX; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;
		const uint8_t *rd;
		struct cursor rdc;
		char text[FAMILY_DNS_NAME_MAX];
		size_t tl = 0;

		if ((rc = dns_name(&msg, &c, NULL, 0, NULL)) != 0 ||
		    (rc = cursor_get_u16(&c, &type)) != 0 ||
		    (rc = cursor_get_u16(&c, &class)) != 0 ||
		    (rc = cursor_get_u32(&c, &ttl)) != 0 ||
		    (rc = cursor_get_u16(&c, &rdlen)) != 0 ||
		    (rdc = c, rc = cursor_get_bytes(&c, rdlen, &rd)) != 0) {
			/* a copy cut here: the answers before this one */
			if (cut && rc == YM_E_TRUNCATED) {
				m.cut = 1;
				break;
			}
			return rc;
		}
		if (type == 1 && rdlen == 4) {
			if (family_util_ip(AF_INET, rd, text) == 0)
				dns_append(&m, text, strlen(text));
		} else if (type == 28 && rdlen == 16) {
			if (family_util_ip(AF_INET6, rd, text) == 0)
				dns_append(&m, text, strlen(text));
		} else if (type == 16) {
			/* TXT: the record's strings joined (as SPF reads them),
			 * bytes other than printable ASCII, and the separator
			 * and the escape, as \DDD; a string whose length runs
			 * past the record is taken as far as the record goes */
			for (size_t k = 0; k < rdlen;) {
				size_t sl = rd[k++];

				for (size_t j = 0; j < sl && k < rdlen; j++, k++) {
					uint8_t b = rd[k];

					if (b >= 0x20 && b <= 0x7e && b != '\\' && b != ';') {
						if (tl + 1 < sizeof(text))
							text[tl++] = (char)b;
					} else if (tl + 4 < sizeof(text)) {
						snprintf(text + tl, 5, "\\%03u", b);
						tl += 4;
					}
				}
			}
			text[tl] = '\0';
			dns_append(&m, text, tl);
		} else if (type == 5 || type == 12 || type == 2 || type == 15) {
			/* names inside rdata may point back into the message */
			rdc.len = rdc.off + rdlen;
			if (type == 15) {
				uint16_t pref;

				if ((rc = cursor_get_u16(&rdc, &pref)) != 0)
					return YM_E_PARSE;
			}
			if ((rc = dns_name(&msg, &rdc, text, sizeof(text), &tl)) != 0)
				return rc;
			dns_append(&m, text, tl);
		}
	}
	*out = m;
	return 0;
}

int family_dns_parse(const uint8_t *p, size_t n, struct family_dns_msg *out)
{
	return dns_parse(p, n, 0, out);
}

int family_dns_parse_cut(const uint8_t *p, size_t n, struct family_dns_msg *out)
{
	return dns_parse(p, n, 1, out);
}

const char *family_dns_parse_type(uint16_t type, char buf[12])
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = {{1, "A"},	  {2, "NS"},	{5, "CNAME"},  {6, "SOA"},
		     {12, "PTR"}, {15, "MX"},	{16, "TXT"},   {28, "AAAA"},
		     {33, "SRV"}, {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == type) {
			snprintf(buf, 12, "%s", names[i].n);
			return buf;
		}
	snprintf(buf, 12, "TYPE%u", type);
	return buf;
}
