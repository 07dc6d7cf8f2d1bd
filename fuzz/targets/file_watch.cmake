ym_fuzz_target(file_watch ymfamilies)
