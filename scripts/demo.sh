#!/usr/bin/env bash
# make demo: a real yamori loop on this machine. Starts a server on an
# embedded SQLite data dir (demo-data/), enrols a local agent, runs a harmless
# attack simulation (scripts/attack-sim.sh), shows what an analyst sees, kills
# the implant through the signed response path and shows the audit trail.
# DEMO_ONESHOT=1: exit after printing, status 0 only if every expected alert
# appeared and the kill was confirmed. Otherwise keeps serving until Ctrl-C.
set -u
build=${1:-build/release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB_BIN=$(cd "$build/bin" && pwd) || exit 1
LAB_DIR="$ROOT/demo-data"
. "$ROOT/scripts/lab.sh"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root: the agent's process sensor (netlink proc connector) needs CAP_NET_ADMIN" >&2
	exit 1
fi

# the alerts the simulation must raise, by rule file in rules/
expected=(recon_whoami_id recon_uname_all recon_hostname recon_read_passwd recon_ps_process_list
	download_piped_to_shell reverse_shell_dev_tcp exec_from_hidden_tmp_folder
	kernel_thread_name_masquerade recon_burst_by_user)

sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	pkill -KILL -f "/tmp/.yamori-sim/.cache/kworker" 2>/dev/null
	lab_stop
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

lab_stop_stale() {
	# a previous demo that was killed hard may still hold the data dir
	pkill -TERM -f "yamori-server serve --data $LAB_DIR/server" 2>/dev/null
	pkill -TERM -f "yamori-agent run --state $LAB_DIR/agent" 2>/dev/null
	sleep 0.5
}
lab_stop_stale
rm -rf "$LAB_DIR"
# the CLI's default server is https://127.0.0.1:8443: use it when it is free
LAB_PORT=${DEMO_PORT:-}
if [ -z "$LAB_PORT" ] && ! ss -Htln "sport = :8443" 2>/dev/null | grep -q .; then
	LAB_PORT=8443
fi

bold "Starting yamori-server (data: demo-data/server, SQLite) and enrolling this host's agent"
lab_start || { echo "demo: could not start the server and agent; logs in $LAB_DIR" >&2; exit 1; }
echo "server:  $LAB_URL (pid $LAB_SERVER_PID), CA demo-data/server/ca.crt"
echo "agent:   $LAB_AGENT_ID (pid $LAB_AGENT_PID), mutual TLS, signed-command key pinned"
grep -h "rules:" "$LAB_DIR/server.log" | tail -n 1 | sed 's/^.*rules:/rules:  /'

bold "Running the attack simulation (harmless; loopback only)"
bash "$ROOT/scripts/attack-sim.sh" >"$LAB_DIR/sim.out" 2> >(tee "$LAB_DIR/sim.log" >&2) &
sim_pid=$!
implant=
for _ in $(seq 1 300); do
	implant=$(awk '$1 == "implant-pid" {print $2}' "$LAB_DIR/sim.out" 2>/dev/null)
	[ -n "$implant" ] && break
	sleep 0.1
done
[ -n "$implant" ] || { echo "demo: the simulation did not start its implant" >&2; exit 1; }

# wait (bounded) for every expected alert
declare -A want
for f in "${expected[@]}"; do want[$(lab_rule_id "$(lab_rule_file "$f")")]=$f; done
missing=()
for _ in $(seq 1 200); do
	got=$(ym --json alerts --limit 1000 2>/dev/null | grep -o '"rule_id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort -u)
	missing=()
	for id in "${!want[@]}"; do grep -qx "$id" <<<"$got" || missing+=("${want[$id]}"); done
	[ ${#missing[@]} -eq 0 ] && break
	sleep 0.1
done

bold "What the analyst sees: yamori alerts"
ym alerts --limit 50

bold "Response: kill the implant (pid $implant) through the signed command path"
ym kill --agent "$LAB_AGENT_ID" --pid "$implant"
kill_rc=$?
killed=0
for _ in $(seq 1 50); do
	if [ ! -e "/proc/$implant" ] || [ "$(awk '{print $3}' "/proc/$implant/stat" 2>/dev/null)" = Z ]; then
		killed=1
		break
	fi
	sleep 0.1
done
wait "$sim_pid" 2>/dev/null
sim_pid=

bold "Audit trail: yamori audit"
ym audit --limit 6

bold "Summary"
echo "expected alerts: $(( ${#expected[@]} - ${#missing[@]} )) of ${#expected[@]}${missing:+ (missing: ${missing[*]})}"
if [ "$kill_rc" -eq 0 ] && [ "$killed" -eq 1 ]; then
	echo "implant kill:    confirmed by the agent and gone from the process table"
else
	echo "implant kill:    NOT confirmed"
fi
status=0
[ ${#missing[@]} -eq 0 ] && [ "$kill_rc" -eq 0 ] && [ "$killed" -eq 1 ] || status=1

if [ "${DEMO_ONESHOT:-0}" = 1 ]; then
	exit "$status"
fi
bold "The server keeps running; Ctrl-C stops it. Try the CLI:"
echo "  export YAMORI_SERVER=$LAB_URL YAMORI_CA=$LAB_CA YAMORI_TOKEN=$LAB_TOKEN"
echo "  $LAB_BIN/yamori agents | alerts | events --host $(hostname) --since 10m | audit"
wait "$LAB_SERVER_PID"
