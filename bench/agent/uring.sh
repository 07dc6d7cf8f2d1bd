#!/usr/bin/env bash
# bench/agent/uring.sh: what the agent's io_uring programs (file and
# network families, bpf mode) add to every io_uring operation of the
# machine: uringnop (IORING_OP_NOP in batches of 64, one thread) for
# SECONDS without the agent, then with it, PAIRS times alternated; the
# figure is the median of the pairs' ns per operation, the ratio the
# median of the pairs' ratios. Also the programs' own run time (kernel
# statistics, on only for one extra storm: they slow every program run).
# JSON lines in the project's benchmark shape. Needs root.
# Usage: bench/agent/uring.sh BUILD_DIR [SECONDS (2)] ; PAIRS (env, 1-9, 3)
set -u
build=${1:-build/release}
secs=${2:-2}
pairs=${PAIRS:-3}
case $pairs in [1-9]) ;; *) pairs=3 ;; esac
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
LAB_BIN=$(cd "$build/bin" && pwd)
. "$YM_SRC/scripts/lab.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent","error":"needs root (eBPF)"}'
	exit 0
fi
if ! "$LAB_BIN/uringnop" 0.1 >/dev/null 2>&1; then
	echo '{"bench":"agent","error":"io_uring unavailable here (kernel.io_uring_disabled?)"}'
	exit 0
fi
LAB_DIR=$(mktemp -d /tmp/ym-bench-uring.XXXXXX)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; lab_stop; rm -rf "$LAB_DIR"' EXIT
lab_start >/dev/null 2>&1 || {
	echo '{"bench":"agent","error":"lab did not start"}'
	exit 0
}
lab_agent_stop
lab_server_stop
args=(--mode process=bpf --mode network=bpf --mode file=bpf --mode dns=off --mode auth=off
	--mode auditd=off)
ns() { "$LAB_BIN/uringnop" "$secs" | awk '{print $3}'; }
med() { sort -g | awk '{v[++n] = $1} END {printf "%.3f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2}'; }
base="" with="" ratios=""
for i in $(seq 1 "$pairs"); do
	b=$(ns)
	lab_agent_start "${args[@]}" >/dev/null || {
		echo '{"bench":"agent","error":"agent did not start"}'
		exit 0
	}
	sleep 1
	if grep -q "W3618\|W3619" "$LAB_DIR/agent.log"; then
		echo '{"bench":"agent","error":"the kernel refused the io_uring programs (W3618/W3619)"}'
		exit 0
	fi
	a=$(ns)
	[ "$i" -eq "$pairs" ] && {
		sysctl -qw kernel.bpf_stats_enabled=1
		"$LAB_BIN/uringnop" "$secs" >/dev/null
		progs=$(bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if "uring" in p.get("name", "") and p.get("run_cnt"):
        print("%s %.1f" % (p["name"], p["run_time_ns"] / p["run_cnt"]))')
		sysctl -qw kernel.bpf_stats_enabled=0
	}
	lab_agent_stop
	base="$base $b"
	with="$with $a"
	ratios="$ratios $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.4f", a / b}')"
done
b=$(printf '%s\n' $base | med)
a=$(printf '%s\n' $with | med)
r=$(printf '%s\n' $ratios | med)
printf '{"bench":"agent","metric":"uring_op_ns","value":%s,"unit":"ns","workload":"uring_nop","baseline":"no-agent","baseline_value":%s,"ratio":%s,"pairs":%d}\n' "$a" "$b" "$r" "$pairs"
while read -r name v; do
	[ -n "$name" ] && printf '{"bench":"agent","metric":"bpf_prog_ns_per_run","value":%s,"unit":"ns","workload":"uring_nop","prog":"%s","stats":"on"}\n' "$v" "$name"
done <<<"${progs:-}"
