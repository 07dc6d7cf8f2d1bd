ym_fuzz_target(linux_log ymdetect)
