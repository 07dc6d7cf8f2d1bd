ym_fuzz_target(ctrimage ymagent)
