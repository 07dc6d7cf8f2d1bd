#include "dlsyms.h"
#include "err.h"

#include <dlfcn.h>
#include <stdio.h>

int dlsyms_load(const char *soname, const struct dlsym_want *want, size_t n, char *why,
		size_t whysz)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(why, whysz, "cannot load %s: %s", soname, dlerror());
		return YM_E_NOTFOUND;
	}
	for (size_t i = 0; i < n; i++) {
		*want[i].fn = dlsym(lib, want[i].name);
		if (*want[i].fn == NULL) {
			snprintf(why, whysz, "%s lacks a function: %s", soname, dlerror());
			for (size_t j = 0; j < n; j++)
				*want[j].fn = NULL;
			return YM_E_NOTFOUND;
		}
	}
	return 0;
}
