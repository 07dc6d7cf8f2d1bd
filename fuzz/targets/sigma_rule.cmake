ym_fuzz_target(sigma_rule ymdetect)
