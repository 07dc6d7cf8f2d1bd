/* Replays a libFuzzer corpus through a target without libFuzzer, so the
 * normal test run exercises every corpus input (under ASan/UBSan in CI).
 * Usage: fuzz_replay_NAME DIR|FILE... ; exits non-zero if no input was found
 * (a replay that ran nothing must not pass). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(b, (size_t)n);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned ran = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			failed++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int n = scandir(argv[i], &ents, NULL, alphasort);
			for (int k = 0; k < n; k++) {
				char p[4096];
				if (ents[k]->d_name[0] != '.') {
					snprintf(p, sizeof(p), "%s/%s", argv[i], ents[k]->d_name);
					if (run_file(p) == 0)
						ran++;
					else
						failed++;
				}
				free(ents[k]);
			}
			free(ents);
		} else if (run_file(argv[i]) == 0) {
			ran++;
		} else {
			failed++;
		}
	}
	printf("replay: %u inputs run, %u unreadable\n", ran, failed);
	return (ran > 0 && failed == 0) ? 0 : 1;
}
