#!/usr/bin/env bash
# bench/agent/opcost.sh: what the agent's programs add to one kind of
# operation of the machine, WORKLOAD:
#   uring: IORING_OP_NOP in batches of 64, one thread (uringnop), against
#          the io_uring programs of the file and network families (bpf);
#   open:  a read-only open and close of a small file, one thread
#          (openloop), against the process family's exit program on open,
#          openat and openat2 (its /proc/PID/mem check; the process family
#          alone, bpf; FILE_MODE=bpf (env) adds the file family, whose own
#          program on the same tracepoints then shares their cost, and
#          checks every read-only open against its "r:" files);
#   openw: an open for writing and close of a file outside the watched
#          folders (OPENW_FILE, env: /var/cache/ym-opcost-w), one thread,
#          against the file family (FILE_MODE, env: bpf) and the process
#          family: the file family compares the file's folders with the
#          watched ones, by identity, up to the root.
# The workload runs SECONDS without the agent, then with it, PAIRS times
# alternated; the figure is the median of the pairs' ns per operation, the
# ratio the median of the pairs' ratios. Also the programs' own run time
# (kernel statistics, on only for one extra run: they slow every program
# run). JSON lines in the project's benchmark shape. Needs root.
# Usage: bench/agent/opcost.sh BUILD_DIR uring|open|openw [SECONDS (2)] ;
#   PAIRS (env, 1-9, 3)
set -u
build=${1:-build/release}
work=${2:-}
secs=${3:-2}
pairs=${PAIRS:-3}
case $pairs in [1-9]) ;; *) pairs=3 ;; esac
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
LAB_BIN=$(cd "$build/bin" && pwd)
. "$YM_SRC/scripts/lab.sh"
case $work in
uring)
	gen=uringnop metric=uring_op_ns wl=uring_nop progs_re=uring warn="W3618\|W3619"
	args=(--mode process=bpf --mode network=bpf --mode file=bpf --mode dns=off
		--mode auth=off --mode auditd=off)
	;;
open)
	gen=openloop metric=open_op_ns wl=open_close progs_re="proc_sys file_sys" warn=W3310
	args=(--mode process=bpf --mode network=off --mode "file=${FILE_MODE:-off}" --mode dns=off
		--mode auth=off --mode auditd=off)
	;;
openw)
	gen=openloop metric=openw_op_ns wl=open_write_close progs_re="proc_sys file_sys" warn=W3310
	wfile=${OPENW_FILE:-/var/cache/ym-opcost-w}
	gargs=("$wfile" w)
	args=(--mode process=bpf --mode network=off --mode "file=${FILE_MODE:-bpf}" --mode dns=off
		--mode auth=off --mode auditd=off)
	;;
*)
	echo '{"bench":"agent","error":"usage: opcost.sh BUILD_DIR uring|open|openw [SECONDS]"}'
	exit 1
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent","error":"needs root (eBPF)"}'
	exit 0
fi
if [ -n "${wfile:-}" ] && [ ! -e "$wfile" ]; then
	: >"$wfile" || exit 1
	made=$wfile
	trap 'rm -f "$made"' EXIT
fi
if ! "$LAB_BIN/$gen" 0.1 ${gargs[@]+"${gargs[@]}"} >/dev/null 2>&1; then
	echo "{\"bench\":\"agent\",\"error\":\"$gen does not run here (io_uring: kernel.io_uring_disabled?)\"}"
	exit 0
fi
LAB_DIR=$(mktemp -d /tmp/ym-bench-opcost.XXXXXX)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; lab_stop; rm -rf "$LAB_DIR"; [ -z "${made:-}" ] || rm -f "$made"' EXIT
lab_start >/dev/null 2>&1 || {
	echo '{"bench":"agent","error":"lab did not start"}'
	exit 0
}
lab_agent_stop
lab_server_stop
ns() { "$LAB_BIN/$gen" "$secs" ${gargs[@]+"${gargs[@]}"} | awk '{print $3}'; }
med() { sort -g | awk '{v[++n] = $1} END {printf "%.3f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2}'; }
base="" with="" ratios=""
for i in $(seq 1 "$pairs"); do
	b=$(ns)
	lab_agent_start "${args[@]}" >/dev/null || {
		echo '{"bench":"agent","error":"agent did not start"}'
		exit 0
	}
	sleep 1
	if grep -q "$warn" "$LAB_DIR/agent.log"; then
		echo "{\"bench\":\"agent\",\"error\":\"the kernel refused the programs measured ($warn)\"}"
		exit 0
	fi
	a=$(ns)
	[ "$i" -eq "$pairs" ] && {
		sysctl -qw kernel.bpf_stats_enabled=1
		"$LAB_BIN/$gen" "$secs" ${gargs[@]+"${gargs[@]}"} >/dev/null
		progs=$(bpftool prog show -j | RE=$progs_re python3 -c '
import json, os, sys
for p in json.load(sys.stdin):
    if any(r in p.get("name", "") for r in os.environ["RE"].split()) and p.get("run_cnt"):
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
printf '{"bench":"agent","metric":"%s","value":%s,"unit":"ns","workload":"%s","baseline":"no-agent","baseline_value":%s,"ratio":%s,"pairs":%d}\n' "$metric" "$a" "$wl" "$b" "$r" "$pairs"
while read -r name v; do
	[ -n "$name" ] && printf '{"bench":"agent","metric":"bpf_prog_ns_per_run","value":%s,"unit":"ns","workload":"%s","prog":"%s","stats":"on"}\n' "$v" "$wl" "$name"
done <<<"${progs:-}"
