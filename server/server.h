/* server.h: the state one yamori-server process shares between its HTTP
 * threads. Built once in main.c before the listener starts; the pointers
 * never change afterwards (the ruleset inside struct rules does, under its
 * own lock), so handlers read them without locking. */
#ifndef YM_SERVER_SERVER_H
#define YM_SERVER_SERVER_H

#include "datadir.h"

struct actions;
struct ioc;
struct pki_ca;
struct rules;
struct store;

struct server {
	const char *data_dir;
	struct datadir_keys keys; /* PEM material; response_pub for enrolment */
	struct pki_ca *ca;	  /* signs agent certificates */
	struct store *store;
	struct rules *rules;
	struct ioc *ioc; /* IoCs matched with the rules (the set inside swaps under its lock) */
	struct actions *actions; /* long-poll wake-ups */
};

#endif
