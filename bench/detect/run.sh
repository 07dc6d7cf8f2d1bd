#!/usr/bin/env bash
# bench/detect: the detection engine on one core, as JSON lines (see
# docs/benchmarks.md): every SigmaHQ rule plus 10 million synthetic IoCs over
# a generated mixed Linux/Windows corpus (tests/oracle/gen_corpus.py --mode
# bench, mostly benign), against SigmaHQ's Linux rules run as SQL by SQLite
# over the same events in the same process.
# Usage: bench/detect/run.sh BUILD_DIR [--iocs N]   (BENCH_EVENTS=N: corpus size)
set -eu
build=${1:-build/release}
shift || true
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
data=${YM_SHARED_DATA:-$YM_SRC/../shared/data}
events=${BENCH_EVENTS:-50000}
if [ ! -d "$data/sigma/rules" ] || [ ! -f "$data/zircolite/rules_linux.json" ]; then
	echo "{\"bench\":\"detect\",\"error\":\"no SigmaHQ data at $data\"}"
	exit 0
fi
corpus="$build/bench-detect-corpus-$events.ndjson"
gen="$YM_SRC/tests/oracle/gen_corpus.py"
if [ ! -s "$corpus" ] || [ "$gen" -nt "$corpus" ]; then
	python3 "$gen" --mode bench --sigma "$data/sigma" --out "$corpus.tmp" --seed 7 \
		--events "$events" >&2
	mv "$corpus.tmp" "$corpus"
fi
exec "$build/bin/detect_bench" "$data/sigma" "$data/zircolite/rules_linux.json" "$corpus" "$@"
