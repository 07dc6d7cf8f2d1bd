/* dlsyms: a library the root agent opens at run time instead of linking it
 * (http.c: libcurl, for the uplink process and enrolment; enrol.c: OpenSSL's
 * libcrypto), and the functions wanted from it. */
#ifndef YM_AGENT_DLSYMS_H
#define YM_AGENT_DLSYMS_H

#include <stddef.h>

/* One function: where its address goes (a function pointer of the
 * library's own prototype, cast), and its name. */
struct dlsym_want {
	void **fn;
	const char *name;
};

/* Opens soname (RTLD_NOW | RTLD_LOCAL) and sets every want[i].fn. Returns 0,
 * or YM_E_NOTFOUND with why set ("cannot load SONAME: ..." or "SONAME lacks a
 * function: ..."): then every pointer is NULL, and a library that opened is
 * kept open (nothing of it is called). */
int dlsyms_load(const char *soname, const struct dlsym_want *want, size_t n, char *why,
		size_t whysz);

#endif
