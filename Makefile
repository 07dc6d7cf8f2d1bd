# Thin wrapper over CMake presets; CMake + CTest do the work.
#   make            build (preset dev)
#   make check      install missing packages, build, run every test (CTest)
#   make demo       install missing packages, build, run the end-to-end demo
#   make bench      run every benchmark under bench/ (release build)
#   make bench-NAME run bench/NAME only
#   make fuzz       build the libFuzzer targets (clang) and fuzz each briefly
#                   (seeds: fuzz/corpus/NAME; what it finds: build/fuzz/corpus/NAME)
# PRESET=asan-ubsan selects another preset (CI uses it for make check).

PRESET ?= dev
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all build deps configure check demo bench fuzz format clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake --preset $(PRESET)

configure: $(BUILD)/build.ninja

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

check: deps
	@$(MAKE) --no-print-directory build PRESET=$(PRESET)
	ctest --preset $(PRESET) -j $(JOBS)

demo: deps
	@$(MAKE) --no-print-directory build PRESET=release
	bash scripts/demo.sh build/release

BENCHES := $(notdir $(patsubst %/,%,$(dir $(wildcard bench/*/run.sh))))

bench: deps
	@$(MAKE) --no-print-directory build PRESET=release
	@set -e; for b in $(BENCHES); do bash bench/$$b/run.sh build/release; done

bench-%: deps
	@$(MAKE) --no-print-directory build PRESET=release
	@test -f bench/$*/run.sh || { echo "no benchmark named $* (have: $(BENCHES))"; exit 2; }
	bash bench/$*/run.sh build/release

fuzz: deps
	@$(MAKE) --no-print-directory build PRESET=fuzz
	@set -e; for f in build/fuzz/bin/fuzz-*; do \
		n=$${f##*/fuzz-}; echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
		mkdir -p build/fuzz/corpus/$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$n fuzz/corpus/$$n; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
