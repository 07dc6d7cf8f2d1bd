#!/usr/bin/env bash
# bench/agent/sockpair.sh: two agent builds under small socket I/O (sockio:
# a 1-byte, or SIZE-byte, write and its read over a loopback TCP pair, a
# connected UDP pair and a unix socket pair), with a run without an agent,
# the three in a rotated order each round (as connpair.sh), the server
# stopped, every family in its default mode (the dns family's programs are
# on the socket send and receive paths with its socket hooks, on the packet
# path with cgroup skb). Per run and kind: wall and CPU time per pair of
# calls (best of sockio's rounds) and the slowdown against the round's run
# without an agent; then, per build and round, one run with
# kernel.bpf_stats_enabled (restored afterwards): the dns programs' runs and
# ns per pair of calls.
# JSON lines. Needs root.
# Usage: bench/agent/sockpair.sh BUILD_A BUILD_B [N (100000)] [ROUNDS (3)] [SIZE (1)]
set -u
ba=${1:?usage: sockpair.sh BUILD_A BUILD_B [N] [ROUNDS] [SIZE]}
bb=${2:?usage: sockpair.sh BUILD_A BUILD_B [N] [ROUNDS] [SIZE]}
n=${3:-100000}
rounds=${4:-3}
size=${5:-1}
case $n in '' | *[!0-9]*) n=100000 ;; esac
case $rounds in '' | *[!0-9]*) rounds=3 ;; esac
case $size in '' | *[!0-9]*) size=1 ;; esac
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent_sockpair","error":"needs root (eBPF)"}'
	exit 0
fi
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
binA=$(cd "$ba/bin" && pwd) || exit 1
binB=$(cd "$bb/bin" && pwd) || exit 1
LAB_BIN=$binB
# the workload is the same program for every run: build B's (A may predate it)
sockio_bin=$binB/sockio
[ -x "$sockio_bin" ] || { echo '{"bench":"agent_sockpair","error":"no sockio in BUILD_B"}'; exit 1; }
. "$YM_SRC/scripts/lab.sh"
LAB_DIR=$(mktemp -d /tmp/ym-bench-sock.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'lab_stop; sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$LAB_DIR"' EXIT
sysctl -qw kernel.bpf_stats_enabled=0

# sockio with $1 pairs of calls, 3 rounds: "kind wall cpu" lines
sockio() {
	"$sockio_bin" "$1" 3 "$size" | python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if "error" not in j:
        print(j["kind"], j["wall_ns_per_op"], j["cpu_ns_per_op"])
'
}
jl() { printf '{"bench":"agent_sockpair","build":"%s","run":%d,"kind":"%s","size":%d,"metric":"%s","value":%s,"unit":"%s"}\n' "$@"; }

lab_start >/dev/null || { echo '{"bench":"agent_sockpair","error":"lab did not start"}'; exit 1; }
lab_agent_stop
lab_server_stop
builds=(none A B)
for run in $(seq 1 "$rounds"); do
	for k in 0 1 2; do
		b=${builds[$(((k + run) % 3))]}
		case $b in
		A) LAB_BIN=$binA ;;
		*) LAB_BIN=$binB ;;
		esac
		if [ "$b" != none ]; then
			lab_agent_start --mode process=bpf >/dev/null ||
				{ echo "{\"bench\":\"agent_sockpair\",\"error\":\"agent $b did not start\"}"; continue; }
			sleep 1
		fi
		sockio "$n" >"$LAB_DIR/out_$b"
		while read -r kind w c; do
			jl "$b" "$run" "$kind" "$size" wall_ns_per_op "$w" ns
			jl "$b" "$run" "$kind" "$size" cpu_ns_per_op "$c" ns
		done <"$LAB_DIR/out_$b"
		if [ "$b" != none ]; then
			pid=$LAB_AGENT_PID
			lab_bpf_ns "$pid" >"$LAB_DIR/bpf0"
			sysctl -qw kernel.bpf_stats_enabled=1
			"$sockio_bin" 20000 1 "$size" >/dev/null
			sysctl -qw kernel.bpf_stats_enabled=0
			lab_bpf_ns "$pid" >"$LAB_DIR/bpf1"
			# one stats run covers the three kinds: 3 x 20000 pairs
			join "$LAB_DIR/bpf0" "$LAB_DIR/bpf1" 2>/dev/null | awk -v n=60000 -v b="$b" -v run="$run" '
				$1 ~ /^dns_/ { d = $4 - $2; c = $5 - $3
				  if (c) printf "{\"bench\":\"agent_sockpair\",\"build\":\"%s\",\"run\":%d,\"metric\":\"bpf_ns_per_op\",\"program\":\"%s\",\"value\":%.1f,\"unit\":\"ns\",\"ns_per_run\":%.0f,\"runs_per_op\":%.2f}\n", b, run, $1, d/n, d/c, c/n }'
			lab_agent_stop
		fi
	done
	while read -r kind w c; do
		for b in A B; do
			[ -f "$LAB_DIR/out_$b" ] || continue
			read -r _ wb cb < <(awk -v k="$kind" '$1 == k' "$LAB_DIR/out_$b")
			[ -n "${cb:-}" ] && jl "$b" "$run" "$kind" "$size" cpu_slowdown_pct \
				"$(awk -v a="$c" -v b="$cb" 'BEGIN{printf "%.1f", 100*(b/a - 1)}')" %
		done
	done <"$LAB_DIR/out_none"
	rm -f "$LAB_DIR"/out_*
done
