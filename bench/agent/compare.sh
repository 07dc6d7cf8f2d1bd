#!/usr/bin/env bash
# bench/agent/compare.sh: two agent builds, alternated in one invocation, under
# the same exec storm (execstorm, as bench/agent/run.sh), so a noisy machine
# moves both alike. Per run and build: the agent's CPU time per process (sum
# of /proc/PID/task/*/schedstat, nanosecond resolution, not 10 ms ticks), the
# kernel-side time of the agent's eBPF programs per process (bpftool's
# run_time_ns with kernel.bpf_stats_enabled, restored afterwards) and, with
# --max, the workload's slowdown at the generator's maximum rate against a
# storm without an agent run just before. The server is stopped while the
# storms run (the agent captures, enriches and spools), as in run.sh.
# JSON lines: us_per_process, bpf_ns_per_process (and per program; a
# program tail-called by another is counted in its caller's time),
# syscall_ns (bench/agent/syscost.c: getppid with the agent running, and
# with none, build "none"),
# workload_slowdown_pct (wall time per process) and workload_cpu_us_per_process
# (CPU time of the storm and its children per process, with the increase
# over the storm without an agent: what a shared machine moves least), rss_mb.
# Needs root.
# Usage: bench/agent/compare.sh BUILD_A BUILD_B [RATE (5000)] [SECONDS (4)] [RUNS (3)]
#        [--max] [--mode-all]
set -u
ba=${1:?usage: compare.sh BUILD_A BUILD_B [RATE] [SECONDS] [RUNS] [--max] [--mode-all]}
bb=${2:?usage: compare.sh BUILD_A BUILD_B [RATE] [SECONDS] [RUNS] [--max] [--mode-all]}
rate=${3:-5000}
secs=${4:-4}
runs=${5:-3}
max=0
args=(--mode process=bpf --mode network=bpf --mode dns=off --mode auth=off --mode file=off
	--mode auditd=off)
for a in "$@"; do
	case $a in
	--max) max=1 ;;
	--mode-all) args=(--mode process=bpf) ;;
	esac
done
case $rate in '' | *[!0-9]*) rate=5000 ;; esac
case $secs in '' | *[!0-9]*) secs=4 ;; esac
case $runs in '' | *[!0-9]*) runs=3 ;; esac
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent_compare","error":"needs root (eBPF)"}'
	exit 0
fi
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
binA=$(cd "$ba/bin" && pwd) || exit 1
binB=$(cd "$bb/bin" && pwd) || exit 1
LAB_BIN=$binB
. "$YM_SRC/scripts/lab.sh"
LAB_DIR=$(mktemp -d /tmp/ym-bench-cmp.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'lab_stop; sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$LAB_DIR"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# nanoseconds on CPU, every thread of process $1
task_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
storm() { "$binB/execstorm" "$1" "$2" "$3"; } # prints STARTED REAPED FAILED SECONDS
# the same, then the CPU seconds (user + system) the storm and its children used
storm_cpu() {
	/usr/bin/time -f '%U %S' -o "$LAB_DIR/time" "$binB/execstorm" "$1" "$2" "$3" | tr '\n' ' '
	awk '{printf "%.3f\n", $1 + $2}' "$LAB_DIR/time"
}
jl() { printf '{"bench":"agent_compare","build":"%s","run":%d,"metric":"%s","value":%s,"unit":"%s"%s}\n' "$@"; }

lab_start >/dev/null || { echo '{"bench":"agent_compare","error":"lab did not start"}'; exit 1; }
lab_agent_stop
lab_server_stop
for run in $(seq 1 "$runs"); do
	# the cost of a system call without an agent, for syscall_ns below
	jl none "$run" syscall_ns "$("$binB/syscost")" ns ""
	for b in A B; do
		if [ $b = A ]; then bin=$binA; else bin=$binB; fi
		rm -f "$LAB_DIR"/agent/spool/*.ymb "$LAB_DIR"/agent/spool/*.yms
		LAB_BIN=$bin lab_agent_start "${args[@]}" >/dev/null ||
			{ echo "{\"bench\":\"agent_compare\",\"error\":\"agent $b did not start\"}"; continue; }
		sleep 1
		pid=$LAB_AGENT_PID
		# statistics off: they add two clock reads to every program run
		sysctl -qw kernel.bpf_stats_enabled=0
		jl "$b" "$run" syscall_ns "$("$binB/syscost")" ns ""
		sysctl -qw kernel.bpf_stats_enabled=1
		t0=$(task_ns "$pid")
		lab_bpf_ns "$pid" >"$LAB_DIR/bpf0"
		read -r n _ _ s < <(storm "$rate" "$secs" "ymcmp$b$run")
		sleep 0.3 # the agent's last poll
		t1=$(task_ns "$pid")
		lab_bpf_ns "$pid" >"$LAB_DIR/bpf1"
		rss=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")
		jl "$b" "$run" us_per_process "$(awk -v d=$((t1 - t0)) -v n="$n" 'BEGIN{printf "%.2f", n ? d/n/1000 : 0}')" us \
			",\"rate\":$(awk -v n="$n" -v s="$s" 'BEGIN{printf "%d", (s > 0 ? n/s : 0)}')"
		jl "$b" "$run" cpu_pct_one_core "$(awk -v d=$((t1 - t0)) -v s="$s" 'BEGIN{printf "%.2f", 100*d/1e9/(s+0.3)}')" % ""
		jl "$b" "$run" rss_mb "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" MB ""
		join "$LAB_DIR/bpf0" "$LAB_DIR/bpf1" 2>/dev/null | awk -v n="$n" -v b="$b" -v run="$run" '
			{ d = $4 - $2; c = $5 - $3; tot += d
			  printf "{\"bench\":\"agent_compare\",\"build\":\"%s\",\"run\":%d,\"metric\":\"bpf_ns_per_process\",\"program\":\"%s\",\"value\":%.0f,\"unit\":\"ns\",\"ns_per_run\":%.0f,\"runs_per_process\":%.2f}\n", b, run, $1, n ? d/n : 0, c ? d/c : 0, n ? c/n : 0 }
			END { printf "{\"bench\":\"agent_compare\",\"build\":\"%s\",\"run\":%d,\"metric\":\"bpf_ns_per_process\",\"program\":\"all\",\"value\":%.0f,\"unit\":\"ns\"}\n", b, run, n ? tot/n : 0 }'
		if [ $max -eq 1 ]; then
			# the statistics cost two clock reads per program run: off here
			sysctl -qw kernel.bpf_stats_enabled=0
			lab_agent_stop
			read -r n0 _ _ s0 c0 < <(storm_cpu 100000 "$secs" ymcmpbase)
			LAB_BIN=$bin lab_agent_start "${args[@]}" >/dev/null || continue
			sleep 1
			read -r n1 _ _ s1 c1 < <(storm_cpu 100000 "$secs" "ymcmpmax$b$run")
			jl "$b" "$run" workload_slowdown_pct "$(awk -v a="$n0" -v sa="$s0" -v b="$n1" -v sb="$s1" 'BEGIN{printf "%.1f", (a && b) ? 100*((sb/b)/(sa/a) - 1) : 0}')" % \
				",\"rate_no_agent\":$(awk -v n="$n0" -v s="$s0" 'BEGIN{printf "%d", n/s}'),\"rate\":$(awk -v n="$n1" -v s="$s1" 'BEGIN{printf "%d", n/s}')"
			# CPU the workload itself used per process (its own system calls
			# and the eBPF programs run in its context), which other load on
			# the machine moves far less than the achieved rate
			jl "$b" "$run" workload_cpu_us_per_process "$(awk -v n="$n1" -v c="$c1" 'BEGIN{printf "%.1f", n ? 1e6*c/n : 0}')" us \
				",\"no_agent\":$(awk -v n="$n0" -v c="$c0" 'BEGIN{printf "%.1f", n ? 1e6*c/n : 0}'),\"cpu_increase_pct\":$(awk -v a="$n0" -v ca="$c0" -v b="$n1" -v cb="$c1" 'BEGIN{printf "%.1f", (a && b && ca > 0) ? 100*((cb/b)/(ca/a) - 1) : 0}')"
			sysctl -qw kernel.bpf_stats_enabled=1
		fi
		lab_agent_stop
	done
done
