ym_fuzz_target(sigma_cond ymdetect)
