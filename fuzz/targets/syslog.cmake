ym_fuzz_target(syslog ymlogread)
