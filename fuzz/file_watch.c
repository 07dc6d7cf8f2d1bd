/* Fuzz target: the file family's watched-path list (agent/family_file_watch.c),
 * built from the configuration's entries (family_env.watch_paths: written
 * by whoever configures the agent) and asked about every path a sensor
 * reports. The input is lines: entries until a line "--", then paths.
 * Checks that the build answers 0, YM_E_INVAL or YM_E_TOOBIG; that match
 * gives 0 or a kind and leads_to 0 or 1; and that every "~/" entry
 * expanded for a home matches what it stands for (the expansion, used for
 * marks and kernel prefixes, and the home-relative match must agree). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "family_file_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FW_LINES 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct family_file_watch w;
	static const char *const homes[] = {"/root/", "/home/a/", "/home/b.c/"};
	char *text = malloc(size + 1), *lines[FW_LINES], *s;
	const char *spec[FW_LINES + 1];
	size_t nl = 0, ns = 0, sep = FW_LINES;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (s = text; nl < FW_LINES;) {
		char *nlp = strchr(s, '\n');

		lines[nl++] = s;
		if (nlp == NULL)
			break;
		*nlp = '\0';
		s = nlp + 1;
	}
	for (size_t i = 0; i < nl; i++) {
		if (strcmp(lines[i], "--") == 0) {
			sep = i;
			break;
		}
		spec[ns++] = lines[i];
	}
	spec[ns] = NULL;
	rc = family_file_watch_build_homes(spec, homes, sizeof(homes) / sizeof(homes[0]), &w);
	if (rc != 0 && rc != YM_E_INVAL && rc != YM_E_TOOBIG)
		abort();
	if (rc == 0) {
		for (size_t i = sep + 1; i < nl; i++) {
			size_t n = strlen(lines[i]);
			int k = family_file_watch_match(&w, lines[i], n);
			int l = family_file_watch_leads_to(&w, lines[i], n);

			if (k < 0 || k > FAMILY_FILE_WATCH_LOSS || (l != 0 && l != 1))
				abort();
		}
		for (size_t i = 0; i < w.n; i++) {
			char probe[FAMILY_FILE_WATCH_PATH + 2];
			const struct family_file_watch_entry *e = &w.e[i];

			if (!e->home)
				continue;
			memcpy(probe, e->path, e->len);
			probe[e->len] = 'x';
			probe[e->len + 1] = '\0';
			if (family_file_watch_match(
				&w, probe,
				e->kind == FAMILY_FILE_WATCH_FILE ? e->len : e->len + 1) == 0)
				abort();
		}
	}
	free(text);
	return 0;
}
