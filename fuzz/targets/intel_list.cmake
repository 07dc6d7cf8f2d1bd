ym_fuzz_target(intel_list ymintel)
