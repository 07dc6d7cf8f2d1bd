/* family_dns_parse: DNS message parsing for the dns family modules. The
 * bytes come from the network: read only through a cursor, names bounded to
 * 255 wire bytes, labels to 63, compression pointers only backwards (so a
 * loop is impossible) and at most FAMILY_DNS_JUMPS of them per name.
 * Thread-safe (no shared state). */
#ifndef YM_AGENT_FAMILY_DNS_PARSE_H
#define YM_AGENT_FAMILY_DNS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define FAMILY_DNS_NAME_MAX    1024 /* text of a name: 255 wire bytes, escapes may quadruple */
#define FAMILY_DNS_ANSWERS_MAX 2048 /* joined answers; further answers are left out */
#define FAMILY_DNS_RR_MAX      64   /* answer records read */
#define FAMILY_DNS_JUMPS       16

struct family_dns_msg {
	uint16_t id;
	uint8_t qr;    /* 1: response */
	uint8_t rcode; /* low 4 bits of the flags */
	uint16_t qtype;
	uint16_t nanswers; /* answers put into answers[] */
	uint8_t cut;	   /* the message was cut (family_dns_parse_cut) before its answers' end */
	size_t qname_len, answers_len;
	char qname[FAMILY_DNS_NAME_MAX];      /* without the final dot; "." for the root */
	char answers[FAMILY_DNS_ANSWERS_MAX]; /* "1.2.3.4;alias.example" (A, AAAA as addresses,
						 CNAME/PTR/NS/MX names, TXT strings
						 joined, escaped as \DDD) */
};

/* Parses the DNS message p (n bytes, borrowed) with exactly one question.
 * Returns 0 and fills *out, YM_E_PARSE (malformed, pointer loop, bad label)
 * or YM_E_TRUNCATED. Answers that do not fit answers[] are left out. */
int family_dns_parse(const uint8_t *p, size_t n, struct family_dns_msg *out);

/* As family_dns_parse for the first n bytes of a longer message (a copy
 * cut at its bound): the header and the question must be whole; the
 * answers are read until the first that does not end within the n
 * bytes, and out->cut says so. */
int family_dns_parse_cut(const uint8_t *p, size_t n, struct family_dns_msg *out);

/* "A", "AAAA", ... or "TYPE<n>" into buf (12 bytes). Returns buf. */
const char *family_dns_parse_type(uint16_t type, char buf[12]);

#endif
