#include "event.h"
#include "err.h"

#include <string.h>
#include <strings.h>

static const char *const cat_names[EVCAT_MAX_] = {
    [EVCAT_UNKNOWN] = "unknown",
    [EVCAT_PROCESS_CREATION] = "process_creation",
    [EVCAT_PROCESS_TERMINATION] = "process_termination",
    [EVCAT_NETWORK_CONNECTION] = "network_connection",
    [EVCAT_FILE_EVENT] = "file_event",
    [EVCAT_DNS_QUERY] = "dns_query",
    [EVCAT_AUTHENTICATION] = "authentication",
    [EVCAT_AGENT_STATUS] = "agent_status",
    [EVCAT_AUDITD] = "auditd",
    [EVCAT_PROCESS_ACCESS] = "process_access",
    [EVCAT_PRIVILEGE_CHANGE] = "privilege_change",
    [EVCAT_DRIVER_LOAD] = "driver_load",
    [EVCAT_BPF_LOAD] = "bpf_load",
    [EVCAT_FILE_ACCESS] = "file_access",
};

const char *event_category_service(unsigned cat)
{
	return cat == EVCAT_AUDITD ? "auditd" : NULL;
}

void event_init(struct event *ev)
{
	memset(ev, 0, offsetof(struct event, fields));
}

/* [A-Za-z0-9_.]: checked for every field of every event the agent sends */
static const unsigned char name_chars[256] = {
    ['.'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

int event_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > EVENT_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_chars[(unsigned char)name[i]])
			return 0;
	return 1;
}

int event_set(struct event *ev, const char *name, const char *value, size_t len)
{
	size_t nl = strlen(name);
	if (!event_name_ok(name, nl))
		return YM_E_INVAL;
	if (len > EVENT_MAX_VALUE)
		return YM_E_TOOBIG;
	if (value[len] != 0 || memchr(value, 0, len))
		return YM_E_INVAL;
	for (uint16_t i = 0; i < ev->nfields; i++) {
		if (strcmp(ev->fields[i].name, name) == 0) {
			ev->fields[i].value = value;
			ev->fields[i].value_len = (uint32_t)len;
			return 0;
		}
	}
	return event_add(ev, name, value, len);
}

int event_add(struct event *ev, const char *name, const char *value, size_t len)
{
	if (ev->nfields >= EVENT_MAX_FIELDS || len > EVENT_MAX_VALUE)
		return YM_E_TOOBIG;
	ev->fields[ev->nfields].name = name;
	ev->fields[ev->nfields].value = value;
	ev->fields[ev->nfields].value_len = (uint32_t)len;
	ev->nfields++;
	return 0;
}

int event_set_str(struct event *ev, const char *name, const char *value)
{
	return event_set(ev, name, value, strlen(value));
}

const char *event_get(const struct event *ev, const char *name, size_t *len)
{
	for (uint16_t i = 0; i < ev->nfields; i++) {
		if (strcmp(ev->fields[i].name, name) == 0) {
			if (len)
				*len = ev->fields[i].value_len;
			return ev->fields[i].value;
		}
	}
	return NULL;
}

const char *event_get_ci(const struct event *ev, const char *name, size_t *len)
{
	const char *v = event_get(ev, name, len);
	if (v)
		return v;
	for (uint16_t i = 0; i < ev->nfields; i++) {
		if (strcasecmp(ev->fields[i].name, name) == 0) {
			if (len)
				*len = ev->fields[i].value_len;
			return ev->fields[i].value;
		}
	}
	return NULL;
}

const char *event_category_name(unsigned cat)
{
	return cat < EVCAT_MAX_ ? cat_names[cat] : "unknown";
}

int event_category_parse(const char *name, unsigned *cat)
{
	for (unsigned i = 0; i < EVCAT_MAX_; i++) {
		if (strcmp(cat_names[i], name) == 0) {
			*cat = i;
			return 0;
		}
	}
	return YM_E_NOTFOUND;
}
