/* winevt: Windows event records (as flattened from EVTX XML/JSON) -> a struct
 * event with SigmaHQ's field names and logsource.
 *
 * Field names follow the Sigma rules specification ("Field Usage"): System
 * elements keep their name, XML attributes join their element with '_'
 * (Provider_Name, Security_UserID, Execution_ProcessID), EventData and
 * UserData fields use their Name with spaces removed.
 *
 * The logsource follows pySigma's Windows pipelines (sigma/pipelines/common.py
 * windows_logsource_mapping for service <- Channel, and the Sysmon pipeline's
 * category <- EventID table), plus Security 4688 as process_creation (the
 * windows-audit pipeline) and the PowerShell categories. */
#include "detect_int.h"

#include "err.h"
#include "event.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct chan_svc {
	const char *channel;
	const char *service;
};

static const struct chan_svc services[] = {
    {"Security", "security"},
    {"Application", "application"},
    {"System", "system"},
    {"Microsoft-Windows-Sysmon/Operational", "sysmon"},
    {"Microsoft-Windows-PowerShell/Operational", "powershell"},
    {"PowerShellCore/Operational", "powershell"},
    {"Windows PowerShell", "powershell-classic"},
    {"Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"},
    {"Microsoft-Windows-WMI-Activity/Operational", "wmi"},
    {"DNS Server", "dns-server"},
    {"Microsoft-Windows-DNS-Server/Audit", "dns-server-audit"},
    {"Microsoft-Windows-DNS-Server/Analytical", "dns-server-analytic"},
    {"Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework"},
    {"Microsoft-Windows-NTLM/Operational", "ntlm"},
    {"Microsoft-Windows-DHCP-Server/Operational", "dhcp"},
    {"MSExchange Management", "msexchange-management"},
    {"Microsoft-Windows-AppLocker/MSI and Script", "applocker"},
    {"Microsoft-Windows-AppLocker/EXE and DLL", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Deployment", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Execution", "applocker"},
    {"Microsoft-Windows-PrintService/Admin", "printservice-admin"},
    {"Microsoft-Windows-PrintService/Operational", "printservice-operational"},
    {"Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational"},
    {"Microsoft-Windows-SmbClient/Security", "smbclient-security"},
    {"Microsoft-Windows-SmbClient/Connectivity", "smbclient-connectivity"},
    {"Microsoft-Windows-SMBServer/Connectivity", "smbserver-connectivity"},
    {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as"},
    {"Microsoft-Windows-Bits-Client/Operational", "bits-client"},
    {"Microsoft-Windows-Windows Defender/Operational", "windefend"},
    {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
     "terminalservices-localsessionmanager"},
    {"Microsoft-ServiceBus-Client", "microsoft-servicebus-client"},
    {"Microsoft-Windows-LDAP-Client/Debug", "ldap_debug"},
    {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/User Mode", "security-mitigations"},
    {"Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted"},
    {"Microsoft-Windows-Shell-Core/Operational", "shell-core"},
    {"OpenSSH/Operational", "openssh"},
    {"Microsoft-Windows-BitLocker/BitLocker Management", "bitlocker"},
    {"Microsoft-Windows-VHDMP-Operational", "vhdmp"},
    {"Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server"},
    {"Microsoft-Windows-AppxPackaging/Operational", "appxpackaging-om"},
    {"Microsoft-Windows-LSA/Operational", "lsa-server"},
    {"Microsoft-Windows-DNS Client Events/Operational", "dns-client"},
    {"Microsoft-Windows-AppModel-Runtime/Admin", "appmodel-runtime"},
    {"Microsoft-Windows-CAPI2/Operational", "capi2"},
    {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
     "certificateservicesclient-lifecycle-system"},
    {"Microsoft-Windows-Kernel-ShimEngine/Operational", "kernel-shimengine"},
    {"Microsoft-Windows-Hyper-V-Worker-Admin", "hyper-v-worker"},
    {"Microsoft-Windows-WinRM/Operational", "winrm"},
};

/* Sysmon event id -> Sigma category (pySigma sysmon pipeline). */
static const char *sysmon_category(unsigned id)
{
	switch (id) {
	case 1:
		return "process_creation";
	case 2:
		return "file_change";
	case 3:
		return "network_connection";
	case 4:
	case 16:
		return "sysmon_status";
	case 5:
		return "process_termination";
	case 6:
		return "driver_load";
	case 7:
		return "image_load";
	case 8:
		return "create_remote_thread";
	case 9:
		return "raw_access_thread";
	case 10:
		return "process_access";
	case 11:
		return "file_event";
	case 12:
		return "registry_add"; /* or registry_delete, by EventType (below) */
	case 13:
		return "registry_set";
	case 14:
		return "registry_rename";
	case 15:
		return "create_stream_hash";
	case 17:
	case 18:
		return "pipe_created";
	case 19:
	case 20:
	case 21:
		return "wmi_event";
	case 22:
		return "dns_query";
	case 23:
	case 26:
		return "file_delete";
	case 24:
		return "clipboard_capture";
	case 25:
		return "process_tampering";
	case 27:
		return "file_block_executable";
	case 28:
		return "file_block_shredding";
	case 29:
		return "file_executable_detected";
	case 255:
		return "sysmon_error";
	default:
		return NULL;
	}
}

/* Appends n bytes of s to the name buffer; returns the copy or NULL when full. */
static const char *name_put(struct winevt *w, const char *s, size_t n, int strip_spaces)
{
	char *d = w->names + w->names_used;
	size_t k = 0;

	if (w->names_used + n + 1 > sizeof(w->names))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strip_spaces && s[i] == ' ')
			continue;
		d[k++] = s[i];
	}
	d[k] = 0;
	w->names_used += k + 1;
	return d;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The Sigma name for flattened path name; NULL when the field is dropped,
 * "" (w full) on overflow. */
static const char *map_name(struct winevt *w, const char *name)
{
	size_t n;
	const char *rest, *p;

	if (starts(name, "Event.#attributes") || strcmp(name, "Event") == 0)
		return NULL;
	if (starts(name, "Event.System.")) {
		char tmp[256];
		size_t k = 0;
		rest = name + strlen("Event.System.");
		n = strlen(rest);
		if (n >= 6 && strcmp(rest + n - 6, ".#text") == 0)
			n -= 6;
		if (n == 0 || n >= sizeof(tmp))
			return NULL;
		for (size_t i = 0; i < n; i++) {
			if (strncmp(rest + i, ".#attributes.", 13) == 0) {
				tmp[k++] = '_';
				i += 12;
			} else {
				tmp[k++] = rest[i] == '.' ? '_' : rest[i];
			}
		}
		if (memchr(rest, '.', n) == NULL)
			return rest; /* borrowed as it is: "EventID", "Channel" */
		p = name_put(w, tmp, k, 0);
		return p ? p : "";
	}
	if (starts(name, "Event.EventData.")) {
		rest = name + strlen("Event.EventData.");
	} else if (starts(name, "Event.UserData.")) {
		rest = strchr(name + strlen("Event.UserData."), '.');
		if (!rest)
			return NULL;
		rest++;
	} else {
		rest = name;
	}
	n = strlen(rest);
	if (n >= 6 && strcmp(rest + n - 6, ".#text") == 0)
		n -= 6;
	if (n == 0)
		return NULL;
	if (n == strlen(rest) && !memchr(rest, ' ', n))
		return rest;
	p = name_put(w, rest, n, 1);
	return p ? p : "";
}

static const struct event_field *find(const struct winevt *w, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(w->fields[i].name, name) == 0)
			return &w->fields[i];
	}
	return NULL;
}

static int add_alias(struct winevt *w, uint32_t *n, const char *to, const char *from)
{
	const struct event_field *f = find(w, *n, from);

	if (!f || find(w, *n, to))
		return 0;
	if (*n >= WINEVT_MAX_FIELDS)
		return YM_E_TOOBIG;
	w->fields[*n].name = to;
	w->fields[*n].value = f->value;
	w->fields[*n].value_len = f->value_len;
	(*n)++;
	return 0;
}

int winevt_map(struct winevt *w, const struct detect_kv *kv, size_t n, struct event *ev)
{
	const struct event_field *f;
	const char *chan = NULL, *prov = NULL, *cat = NULL, *svc = NULL;
	uint32_t nf = 0;
	uint64_t id = 0;
	unsigned num;
	int have_id = 0, rc;

	w->names_used = 0;
	for (size_t i = 0; i < n; i++) {
		const char *nm;
		if (!kv[i].name || !kv[i].value || memchr(kv[i].value, 0, kv[i].len) ||
		    kv[i].value[kv[i].len] != 0)
			return YM_E_INVAL;
		nm = map_name(w, kv[i].name);
		if (!nm)
			continue;
		if (!nm[0])
			return YM_E_TOOBIG;
		if (nf >= WINEVT_MAX_FIELDS)
			return YM_E_TOOBIG;
		w->fields[nf].name = nm;
		w->fields[nf].value = kv[i].value;
		w->fields[nf].value_len = (uint32_t)kv[i].len;
		nf++;
	}
	if ((f = find(w, nf, "Channel")))
		chan = f->value;
	if ((f = find(w, nf, "Provider_Name")))
		prov = f->value;
	if ((f = find(w, nf, "EventID")))
		have_id = util_parse_u64(f->value, 0, 65535, &id) == 0;
	for (size_t i = 0; chan && i < sizeof(services) / sizeof(services[0]); i++) {
		if (strcasecmp(chan, services[i].channel) == 0) {
			svc = services[i].service;
			break;
		}
	}
	if (!svc && prov && strcasecmp(prov, "Microsoft-Windows-Sysmon") == 0)
		svc = "sysmon";
	if (have_id && svc && strcmp(svc, "sysmon") == 0) {
		cat = sysmon_category((unsigned)id);
		if (id == 12 && (f = find(w, nf, "EventType")) &&
		    (strcasecmp(f->value, "DeleteKey") == 0 ||
		     strcasecmp(f->value, "DeleteValue") == 0))
			cat = "registry_delete";
	} else if (have_id && svc && strcmp(svc, "security") == 0 && id == 4688) {
		cat = "process_creation";
		if ((rc = add_alias(w, &nf, "Image", "NewProcessName")) < 0 ||
		    (rc = add_alias(w, &nf, "ParentImage", "ParentProcessName")) < 0)
			return rc;
	} else if (have_id && svc && strcmp(svc, "powershell") == 0) {
		cat = id == 4104 ? "ps_script" : id == 4103 ? "ps_module" : NULL;
	} else if (have_id && svc && strcmp(svc, "powershell-classic") == 0) {
		cat = id == 400	  ? "ps_classic_start"
		      : id == 600 ? "ps_classic_provider_start"
		      : id == 800 ? "ps_classic_script"
				  : NULL;
	}
	event_init(ev);
	ev->product = "windows";
	ev->service = svc;
	if (cat && event_category_parse(cat, &num) == 0)
		ev->category = (uint16_t)num;
	else
		ev->category_name = cat;
	ev->xfields = w->fields;
	ev->nxfields = nf;
	return 0;
}
