# lab.sh: stands up a real yamori-server and a real yamori-agent on loopback
# for the demo and the end-to-end tests. Source it, then call lab_start.
# Needs root (the agent's process sensor uses the netlink proc connector).
#
# In:  LAB_BIN   folder with yamori-server, yamori-agent, yamori (build dir's bin)
#      LAB_DIR   work folder (created; server data in $LAB_DIR/server, agent
#                state in $LAB_DIR/agent, logs in $LAB_DIR/*.log)
#      LAB_RULES rules folder (default: the project's rules/)
# Out: LAB_PORT LAB_URL LAB_CA LAB_TOKEN LAB_ENROL LAB_AGENT_ID LAB_SERVER_PID
#      LAB_AGENT_PID, and `ym` runs the CLI against the lab server.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

lab_log() { printf '%s\n' "$*" >&2; }

# How many lines of file $1 hold the text $2 (0 when there is no file).
lab_count() {
	local n
	n=$(grep -c -F -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

lab_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Waits up to $2 seconds for file $1 to contain the text $3, on more than
# $4 lines (default 0: once). A process started again logs to the same
# file: its starter passes how many lines held the text before (lab_count),
# or the first start's line would answer for the second at once. $5 (may
# be empty): the pid of the process that writes it; the wait ends when it
# is gone.
lab_wait_log() {
	local f=$1 t=$2 what=$3 before=${4:-0} pid=${5:-} i
	for i in $(seq 1 $((t * 10))); do
		[ "$(lab_count "$f" "$what")" -gt "$before" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			lab_log "lab: process $pid exited before '$what' in $f"
			tail -n 20 "$f" >&2 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	lab_log "lab: timed out after ${t}s waiting for '$what' in $f"
	tail -n 20 "$f" >&2 2>/dev/null
	return 1
}

ym() { "$LAB_BIN/yamori" --server "$LAB_URL" --ca "$LAB_CA" --token "$LAB_TOKEN" "$@"; }

lab_server_start() {
	local n
	n=$(lab_count "$LAB_DIR/server.log" "listening on")
	# LAB_SERVER_ARGS (an array, may be unset): more of serve's options
	"$LAB_BIN/yamori-server" serve --data "$LAB_DIR/server" --listen "127.0.0.1:$LAB_PORT" \
		--rules "${LAB_RULES:-$LAB_ROOT/rules}" ${LAB_SERVER_ARGS[@]+"${LAB_SERVER_ARGS[@]}"} \
		>>"$LAB_DIR/server.log" 2>&1 &
	LAB_SERVER_PID=$!
	lab_wait_log "$LAB_DIR/server.log" 20 "listening on" "$n" "$LAB_SERVER_PID" || return 1
}

lab_server_stop() {
	[ -n "${LAB_SERVER_PID:-}" ] || return 0
	kill -TERM "$LAB_SERVER_PID" 2>/dev/null
	wait "$LAB_SERVER_PID" 2>/dev/null
	LAB_SERVER_PID=
}

lab_agent_start() {
	local n
	n=$(lab_count "$LAB_DIR/agent.log" "yamori-agent running")
	# LAB_AGENT_ARGS (an array, may be unset): options of every start, the
	# lab's first included; then this call's
	"$LAB_BIN/yamori-agent" run --state "$LAB_DIR/agent" \
		${LAB_AGENT_ARGS[@]+"${LAB_AGENT_ARGS[@]}"} "$@" >>"$LAB_DIR/agent.log" 2>&1 &
	LAB_AGENT_PID=$!
	lab_wait_log "$LAB_DIR/agent.log" 20 "yamori-agent running" "$n" "$LAB_AGENT_PID" || return 1
}

lab_agent_stop() {
	[ -n "${LAB_AGENT_PID:-}" ] || return 0
	kill -TERM "$LAB_AGENT_PID" 2>/dev/null
	wait "$LAB_AGENT_PID" 2>/dev/null
	LAB_AGENT_PID=
}

# Prints how many batches wait in the agent's spool (0 when it cannot tell).
lab_spooled() {
	"$LAB_BIN/yamori-agent" spool --state "$LAB_DIR/agent" 2>/dev/null | awk '$1 == "spool:" {n = $2} END {print n + 0}'
}

lab_start() {
	local out
	mkdir -p "$LAB_DIR" || return 1
	LAB_PORT=${LAB_PORT:-$(lab_free_port)} || return 1
	LAB_URL="https://127.0.0.1:$LAB_PORT"
	LAB_CA="$LAB_DIR/server/ca.crt"
	"$LAB_BIN/yamori-server" init --data "$LAB_DIR/server" >>"$LAB_DIR/server.log" 2>&1 || return 1
	out=$("$LAB_BIN/yamori-server" tenant-add --data "$LAB_DIR/server" "${LAB_TENANT:-acme}") || return 1
	LAB_ENROL=$(printf '%s\n' "$out" | awk '$1 == "enrol-token" {print $2}')
	LAB_TOKEN=$("$LAB_BIN/yamori-server" token-add --data "$LAB_DIR/server" --role admin --name lab) || return 1
	[ -n "$LAB_ENROL" ] && [ -n "$LAB_TOKEN" ] || { lab_log "lab: no tokens"; return 1; }
	lab_server_start || return 1
	"$LAB_BIN/yamori-agent" enrol --server "$LAB_URL" --token "$LAB_ENROL" --ca "$LAB_CA" \
		--state "$LAB_DIR/agent" --hostname "${LAB_HOST:-$(hostname)}" >>"$LAB_DIR/agent.log" 2>&1 || {
		tail -n 20 "$LAB_DIR/agent.log" >&2
		return 1
	}
	LAB_AGENT_ID=$(awk '$1 == "enrolled" && $2 == "agent" {print $3}' "$LAB_DIR/agent.log" | tail -n 1)
	lab_agent_start || return 1
}

lab_stop() {
	lab_agent_stop
	lab_server_stop
}

# Prints "name run_time_ns run_cnt" of every eBPF program process $1 holds
# (its descriptors' prog_id), one line each, sorted by name; the run times
# count only while kernel.bpf_stats_enabled is 1 (the agent benchmarks).
lab_bpf_ns() {
	local id
	for id in $(awk '$1 == "prog_id:" {print $2}' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool prog show id "$id" -j 2>/dev/null
		echo
	done | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        p = json.loads(line)
        print(p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))
' | sort
}

# Prints the rule id of a rule file.
lab_rule_id() { awk '$1 == "id:" {print $2; exit}' "$1"; }
# Prints the path of the rule pack's rule with file stem $1.
lab_rule_file() { find "$LAB_ROOT/rules" -name "$1.yml" | head -n 1; }
