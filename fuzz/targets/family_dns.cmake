ym_fuzz_target(family_dns ymfamilies)
