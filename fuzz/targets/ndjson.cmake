ym_fuzz_target(ndjson ymlogread)
