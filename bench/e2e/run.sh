#!/usr/bin/env bash
# bench/e2e: the foundation's end-to-end figures on this machine, printed as
# JSON lines in the project's benchmark shape:
#   alert latency (exec on the endpoint -> alert stored), p50 and p99 over
#   1,000 executions; the agent's CPU (% of one core) and RSS idle and under
#   1,000 execs/s; events lost under that load; and the workload's run time
#   with the agent against the same workload without it (ratio).
# Needs root (the agent's proc connector). Usage: bench/e2e/run.sh BUILD_DIR
set -u
build=${1:-build/release}
YM_SRC=$(cd "$(dirname "$0")/../.." && pwd)
LAB_BIN=$(cd "$build/bin" && pwd)
. "$YM_SRC/scripts/lab.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo '{"bench":"e2e","error":"needs root for the agent'"'"'s netlink proc connector"}'
	exit 0
fi
LAB_DIR=$(mktemp -d /tmp/ym-bench-e2e.XXXXXX)
trap 'lab_stop; rm -rf "$LAB_DIR" /tmp/.ym-bench-e2e' EXIT
gen="$LAB_BIN/execgen"
db() { sqlite3 -batch -noheader "$LAB_DIR/server/yamori.db" "$@"; }
jl() { printf '{"bench":"e2e","metric":"%s","value":%s,"unit":"%s"%s}\n' "$1" "$2" "$3" "${4:-}"; }

# ticks of CPU (utime + stime) of a pid, and its RSS in kB
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# baseline: the workload without any agent running
read -r _ _ _ base_s < <("$gen" 5000 4 ymbench-base)

lab_start >/dev/null || { echo '{"bench":"e2e","error":"lab did not start"}'; exit 1; }
sleep 2

# idle
t0=$(cpu_ticks "$LAB_AGENT_PID")
sleep 10
t1=$(cpu_ticks "$LAB_AGENT_PID")
jl agent_cpu_pct_one_core "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", 100*d/hz/10}')" "%" ',"rate":0'
jl agent_rss_mb "$(awk -v k="$(rss_kb "$LAB_AGENT_PID")" 'BEGIN{printf "%.1f", k/1024}')" "MB" ',"rate":0'

# 1,000 execs/s for 10 s
marker="ymbench$$"
t0=$(cpu_ticks "$LAB_AGENT_PID")
"$gen" 1000 10 "$marker" >"$LAB_DIR/gen.out" &
gp=$!
wait "$gp"
t1=$(cpu_ticks "$LAB_AGENT_PID")
read -r started _ _ secs <"$LAB_DIR/gen.out"
rss=$(rss_kb "$LAB_AGENT_PID")
jl agent_cpu_pct_one_core "$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$secs" 'BEGIN{printf "%.2f", 100*d/hz/s}')" "%" ',"rate":1000'
jl agent_rss_mb "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" "MB" ',"rate":1000'
# each execution is one process_creation event whose parent is execgen (the
# parent comes from the kernel's fork message, so it is there even when the
# process exited before /proc was read)
stored=0
for _ in $(seq 1 600); do
	stored=$(db "SELECT count(*) FROM events WHERE category = 1 AND json_extract(fields, '$.ParentProcessId') = '$gp'")
	[ "$stored" -ge "$started" ] && break
	sleep 0.1
done
jl events_lost "$((started - stored))" "events" ',"rate":1000'
withcmd=$(db "SELECT count(*) FROM events WHERE command_line LIKE '/bin/true $marker %'")
jl command_line_captured_ratio "$(awk -v a="$withcmd" -v b="$started" 'BEGIN{printf "%.4f", a/b}')" "ratio" ',"rate":1000'

# workload slowdown with the agent running, against the baseline above
read -r _ _ _ with_s < <("$gen" 5000 4 ymbench-with)
jl workload_seconds "$with_s" "s" ",\"baseline\":\"no-agent\",\"ratio\":$(awk -v a="$with_s" -v b="$base_s" 'BEGIN{printf "%.3f", a/b}')"

# latency: 1,000 executions of a binary hidden in /tmp, which our rules flag
mkdir -p /tmp/.ym-bench-e2e
cp /usr/bin/true /tmp/.ym-bench-e2e/updater
lat_marker="ymlat$$"
"$gen" 100 10 "$lat_marker" /tmp/.ym-bench-e2e/updater >/dev/null
n=0
for _ in $(seq 1 300); do
	n=$(db "SELECT count(DISTINCT event_seq) FROM alerts a WHERE a.agent_id = '$LAB_AGENT_ID' AND a.event_seq IN (SELECT seq FROM events WHERE agent_id = '$LAB_AGENT_ID' AND command_line LIKE '/tmp/.ym-bench-e2e/updater $lat_marker %')")
	[ "$n" -ge 1000 ] && break
	sleep 0.1
done
db "SELECT min(a.created_ns) - e.ts_ns FROM alerts a JOIN events e ON e.agent_id = a.agent_id AND e.seq = a.event_seq WHERE e.agent_id = '$LAB_AGENT_ID' AND e.command_line LIKE '/tmp/.ym-bench-e2e/updater $lat_marker %' GROUP BY e.seq" | sort -n >"$LAB_DIR/lat"
cnt=$(wc -l <"$LAB_DIR/lat")
pct() { awk -v p="$1" -v n="$cnt" 'NR == int((n - 1) * p) + 1 {printf "%.1f", $1 / 1e6}' "$LAB_DIR/lat"; }
jl alert_latency_p50_ms "$(pct 0.50)" "ms" ",\"samples\":$cnt"
jl alert_latency_p99_ms "$(pct 0.99)" "ms" ",\"samples\":$cnt"
jl alert_executions_missing "$((1000 - cnt))" "events"
