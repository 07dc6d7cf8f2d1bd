ym_fuzz_target(psframe ymagent)
