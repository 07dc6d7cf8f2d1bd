ym_fuzz_target(procinfo ymagent ymfamilies)
