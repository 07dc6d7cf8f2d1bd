#!/usr/bin/env bash
# bench/agent: the agent alone, per process sensor mode (bpf, netlink), under
# exec storms (execgen: fork + exec of /bin/true) and connect storms
# (conngen: loopback connects) at 1,000, 5,000, 10,000 and 100,000 per
# second (as fast as the machine allows: "rate" is the achieved rate).
# The server is stopped while the storms run, so the agent only captures,
# enriches and spools (what the figures measure); afterwards the server is
# started again, the spool drains, and what was captured is counted there.
# JSON lines: captured_ratio, drops, cpu_pct_one_core, rss_mb,
# workload_slowdown_pct (against the same storm without the agent, run in
# this invocation). Needs root. Usage: bench/agent/run.sh BUILD_DIR [SECONDS]
set -u
build=${1:-build/release}
secs=${2:-3}
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
LAB_BIN=$(cd "$build/bin" && pwd)
. "$YM_SRC/scripts/lab.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"agent","error":"needs root (eBPF, proc connector)"}'
	exit 0
fi
LAB_DIR=$(mktemp -d /tmp/ym-bench-agent.XXXXXX)
trap 'lab_stop; rm -rf "$LAB_DIR"' EXIT
db() { sqlite3 -batch -noheader "$LAB_DIR/server/yamori.db" "$@"; }
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
jl() { # metric value unit mode rate [baseline ratio]
	local extra=""
	[ -n "${6:-}" ] && extra=",\"baseline\":\"$6\",\"ratio\":$7"
	printf '{"bench":"agent","metric":"%s","value":%s,"unit":"%s","mode":"%s","workload":"%s","rate":%s%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "$8" "$extra"
}
rates="1000 5000 10000 100000"

# baselines: each storm without an agent
declare -A base_s
for r in $rates; do
	read -r _ _ _ base_s[exec$r] < <("$LAB_BIN/execgen" "$r" "$secs" ymbase)
	read -r _ _ base_s[conn$r] _ < <("$LAB_BIN/conngen" "$r" "$secs")
done

lab_start >/dev/null || { echo '{"bench":"agent","error":"lab did not start"}'; exit 1; }
lab_agent_stop
# bpf-only and netlink-only: the process family alone (the other families
# off), so the figures are the process sensor's; bpf: every family on
for mode in bpf-only netlink-only bpf; do
	pm=${mode%-only}
	extra=()
	[ "$mode" != "$pm" ] && extra=(--mode network=off --mode dns=off --mode auth=off --mode file=off --mode auditd=off)
	lab_server_stop
	lab_agent_start --mode "process=$pm" "${extra[@]}" >/dev/null || { echo "{\"bench\":\"agent\",\"error\":\"agent mode $mode did not start\"}"; continue; }
	sleep 1
	declare -A res=()
	for w in exec conn; do
		for r in $rates; do
			marker="ymb${mode}${w}${r}x$$"
			t0=$(cpu_ticks "$LAB_AGENT_PID")
			if [ "$w" = exec ]; then
				read -r started _ _ s < <("$LAB_BIN/execgen" "$r" "$secs" "$marker")
				port=0
			else
				read -r started _ s port < <("$LAB_BIN/conngen" "$r" "$secs")
			fi
			sleep 0.3 # the agent's last poll
			t1=$(cpu_ticks "$LAB_AGENT_PID")
			rss=$(rss_kb "$LAB_AGENT_PID")
			res[$w$r]="$started $s $t0 $t1 $rss $marker $port"
		done
	done
	# drain: the server again; every spooled batch goes in
	lab_server_start >/dev/null
	for _ in $(seq 1 600); do
		[ "$(ls "$LAB_DIR/agent/spool" | grep -c '\.ymb$')" -eq 0 ] && break
		sleep 0.2
	done
	for w in exec conn; do
		for r in $rates; do
			read -r started s t0 t1 rss marker port <<<"${res[$w$r]}"
			achieved=$(awk -v n="$started" -v s="$s" 'BEGIN{printf "%d", n/s}')
			if [ "$w" = exec ]; then
				cap=$(db "SELECT count(*) FROM events WHERE category = 1 AND command_line LIKE '/bin/true $marker %'")
			else
				cap=$(db "SELECT count(*) FROM events WHERE category = 3 AND json_extract(fields, '\$.DestinationPort') = '$port'")
			fi
			jl captured_ratio "$(awk -v a="$cap" -v b="$started" 'BEGIN{printf "%.4f", b ? a/b : 0}')" ratio "$mode" "$w" "" "" "$achieved"
			jl cpu_pct_one_core "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$s" 'BEGIN{printf "%.2f", 100*d/hz/(s+0.3)}')" "%" "$mode" "$w" "" "" "$achieved"
			jl rss_mb "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" MB "$mode" "$w" "" "" "$achieved"
			jl workload_slowdown_pct "$(awk -v a="$s" -v b="${base_s[$w$r]}" 'BEGIN{printf "%.1f", 100*(a/b-1)}')" "%" "$mode" "$w" no-agent "$(awk -v a="$s" -v b="${base_s[$w$r]}" 'BEGIN{printf "%.3f", a/b}')" "$achieved"
		done
	done
	# drops the agent reported for this run (kernel ring buffer, netlink
	# overruns, sheds), per family
	drops=$(db "SELECT coalesce(sum(CAST(json_extract(fields, '\$.Drops') AS INTEGER)), 0) FROM events WHERE category = 7 AND json_extract(fields, '\$.Family') IS NOT NULL AND json_extract(fields, '\$.Mode') = '$pm'")
	jl drops "$drops" events "$mode" all "" "" 0
	lab_agent_stop
	db "DELETE FROM events WHERE category = 7" 2>/dev/null
done
