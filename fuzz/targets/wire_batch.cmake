ym_fuzz_target(wire_batch ymwire)
