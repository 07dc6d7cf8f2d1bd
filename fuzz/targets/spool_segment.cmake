ym_fuzz_target(spool_segment ymagent)
