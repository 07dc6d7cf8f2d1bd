#!/usr/bin/env bash
# bench/agent/connpair.sh: two agent builds under connect storms (conngen at
# its maximum, loopback connect, accept, close), with a storm without an
# agent, the three in a rotated order each round (each storm runs among the
# TIME_WAIT sockets of the ones before, up to net.ipv4.tcp_max_tw_buckets: in
# a fixed order the build run last won six rounds of six, which a rotated
# order did not confirm), the server stopped. Per storm: wall time and CPU time (user + system: the
# programs on its system calls and packets run in its context) of conngen
# per connection; per agent storm, the slowdown against the round's storm
# without an agent. Then, per build and round, a 1 s storm with
# kernel.bpf_stats_enabled (restored afterwards; it adds two clock reads to
# every program run): run_time_ns of each of the agent's eBPF programs per
# connection and per run.
# JSON lines: wall_us_per_conn, cpu_us_per_conn, workload_slowdown_pct,
# bpf_ns_per_conn (per program, and "all"). Needs root.
# Usage: bench/agent/connpair.sh BUILD_A BUILD_B [SECONDS (3)] [ROUNDS (3)]
#        [--mode-all]  (default: bpf mode, process + network; --mode-all: every
#        family in its default mode)
set -u
ba=${1:?usage: connpair.sh BUILD_A BUILD_B [SECONDS] [ROUNDS] [--mode-all]}
bb=${2:?usage: connpair.sh BUILD_A BUILD_B [SECONDS] [ROUNDS] [--mode-all]}
secs=${3:-3}
rounds=${4:-3}
args=(--mode process=bpf --mode network=bpf --mode dns=off --mode auth=off --mode file=off
	--mode auditd=off)
for a in "$@"; do
	case $a in
	--mode-all) args=(--mode process=bpf) ;;
	esac
done
case $secs in '' | *[!0-9]*) secs=3 ;; esac
case $rounds in '' | *[!0-9]*) rounds=3 ;; esac
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent_connpair","error":"needs root (eBPF)"}'
	exit 0
fi
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
binA=$(cd "$ba/bin" && pwd) || exit 1
binB=$(cd "$bb/bin" && pwd) || exit 1
LAB_BIN=$binB
. "$YM_SRC/scripts/lab.sh"
LAB_DIR=$(mktemp -d /tmp/ym-bench-conn.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'lab_stop; sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$LAB_DIR"' EXIT
sysctl -qw kernel.bpf_stats_enabled=0

jl() { printf '{"bench":"agent_connpair","build":"%s","run":%d,"metric":"%s","value":%s,"unit":"%s"%s}\n' "$@"; }
# conngen at its maximum for $1 s; prints "CONNECTIONS SECONDS CPU_SECONDS"
storm() {
	local n s
	/usr/bin/time -f '%U %S' -o "$LAB_DIR/time" "$LAB_BIN/conngen" 1000000 "$1" >"$LAB_DIR/out"
	read -r n _ s _ <"$LAB_DIR/out"
	echo "$n $s $(awk '{printf "%.3f", $1 + $2}' "$LAB_DIR/time")"
}

lab_start >/dev/null || { echo '{"bench":"agent_connpair","error":"lab did not start"}'; exit 1; }
lab_agent_stop
lab_server_stop
builds=(none A B)
for run in $(seq 1 "$rounds"); do
	base=
	for k in 0 1 2; do
		b=${builds[$(((k + run) % 3))]}
		case $b in
		A) LAB_BIN=$binA ;;
		*) LAB_BIN=$binB ;;
		esac
		if [ "$b" != none ]; then
			lab_agent_start "${args[@]}" >/dev/null ||
				{ echo "{\"bench\":\"agent_connpair\",\"error\":\"agent $b did not start\"}"; continue; }
			sleep 1
		fi
		read -r n s c < <(storm "$secs")
		[ "${n:-0}" -gt 0 ] || continue
		w=$(awk -v n="$n" -v s="$s" 'BEGIN{printf "%.3f", 1e6*s/n}')
		jl "$b" "$run" wall_us_per_conn "$w" us ",\"rate\":$(awk -v n="$n" -v s="$s" 'BEGIN{printf "%d", n/s}')"
		jl "$b" "$run" cpu_us_per_conn "$(awk -v n="$n" -v c="$c" 'BEGIN{printf "%.3f", 1e6*c/n}')" us ""
		eval "wall_$b=$w"
		if [ "$b" != none ]; then
			pid=$LAB_AGENT_PID
			lab_bpf_ns "$pid" >"$LAB_DIR/bpf0"
			sysctl -qw kernel.bpf_stats_enabled=1
			read -r n _ _ < <(storm 1)
			sysctl -qw kernel.bpf_stats_enabled=0
			lab_bpf_ns "$pid" >"$LAB_DIR/bpf1"
			join "$LAB_DIR/bpf0" "$LAB_DIR/bpf1" 2>/dev/null | awk -v n="$n" -v b="$b" -v run="$run" '
				{ d = $4 - $2; c = $5 - $3; tot += d
				  if (c) printf "{\"bench\":\"agent_connpair\",\"build\":\"%s\",\"run\":%d,\"metric\":\"bpf_ns_per_conn\",\"program\":\"%s\",\"value\":%.1f,\"unit\":\"ns\",\"ns_per_run\":%.0f,\"runs_per_conn\":%.2f}\n", b, run, $1, n ? d/n : 0, d/c, n ? c/n : 0 }
				END { printf "{\"bench\":\"agent_connpair\",\"build\":\"%s\",\"run\":%d,\"metric\":\"bpf_ns_per_conn\",\"program\":\"all\",\"value\":%.1f,\"unit\":\"ns\"}\n", b, run, n ? tot/n : 0 }'
			lab_agent_stop
		fi
	done
	for b in A B; do
		eval "w=\${wall_$b:-}"
		[ -n "$w" ] && [ -n "${wall_none:-}" ] &&
			jl "$b" "$run" workload_slowdown_pct "$(awk -v a="$wall_none" -v b="$w" 'BEGIN{printf "%.1f", 100*(b/a - 1)}')" % ""
	done
	unset wall_none wall_A wall_B
done
