#!/usr/bin/env bash
# The kill response path, end to end: a kill asked through the API is signed
# by the server, verified by the agent and carried out on the right process;
# a forged, an expired and a replayed command are refused by the agent and
# kill nothing; request and every result are in the audit log.
TEST_NAME=kill
. "$(dirname "$0")/common.sh"

lab_start || fail "lab did not start"
FORGE="$LAB_BIN/ym-forge"

start_time() { awk '{print $22}' "/proc/$1/stat"; }
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
wait_event() { # pid: waits until the server stored the process_creation event of pid
	for _ in $(seq 1 100); do
		[ "$(db "SELECT count(*) FROM events WHERE agent_id = '$LAB_AGENT_ID' AND pid = $1 AND category = 1")" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}
status_of() { db "SELECT status || ' ' || detail FROM actions WHERE id = '$1'"; }
wait_status() { # id: waits until the action has a final status, prints it
	local s
	for _ in $(seq 1 150); do
		s=$(status_of "$1")
		case "$s" in done* | refused* | failed*) echo "$s"; return 0 ;; esac
		sleep 0.1
	done
	echo "$s"
	return 1
}
# Queues a hand-made signed command as an action row: the server hands it to
# the agent on its next long poll, like any other command.
inject() { # id pid start_time command-json
	local tenant
	tenant=$(db "SELECT tenant_id FROM agents WHERE id = '$LAB_AGENT_ID'")
	db ".timeout 5000" "INSERT INTO actions (id, tenant_id, agent_id, type, pid, start_time, nonce, status, requested_by, requested_ns, expires_s, command) VALUES ('$1', '$tenant', '$LAB_AGENT_ID', 'kill', $2, $3, '$1', 'queued', 'test:inject', $(date +%s%N), $(($(date +%s) + 300)), '$4')" ||
		fail "could not queue the test command"
}
# A legit kill of a sacrificial process: wakes the agent's long poll so that
# the injected commands are delivered now, and shows the agent still obeys
# correctly signed commands after refusing bad ones.
wake_with_legit_kill() {
	sleep 300 &
	local s=$!
	wait_event "$s" || fail "no event for sacrificial pid $s"
	ym kill --agent "$LAB_AGENT_ID" --pid "$s" >/dev/null || fail "legit kill of pid $s not done"
	wait "$s" 2>/dev/null
}

# 1. a real kill through the CLI and API
sleep 300 &
victim=$!
e2e_extra_pids="$victim"
wait_event "$victim" || fail "no process_creation event for pid $victim"
out=$(ym kill --agent "$LAB_AGENT_ID" --pid "$victim") || fail "kill not confirmed: $out"
echo "$out"
wait "$victim" 2>/dev/null
rc=$?
[ "$rc" -eq 137 ] || fail "victim exit status $rc, expected 137 (SIGKILL)"
ok "kill through the API: done, victim died of SIGKILL"

now=$(date +%s)
# 2. forged: correctly formed, signed with a key that is not the server's
openssl genpkey -algorithm ed25519 -out "$LAB_DIR/forged.pem" 2>/dev/null || fail "openssl genpkey"
sleep 300 &
v2=$!
e2e_extra_pids="$v2"
id2=$(cat /proc/sys/kernel/random/uuid)
cmd=$("$FORGE" "$LAB_DIR/forged.pem" "$id2" "$LAB_AGENT_ID" "$v2" "$(start_time $v2)" "$now" $((now + 300)) "$(openssl rand -hex 16)") || fail "forge"
inject "$id2" "$v2" "$(start_time $v2)" "$cmd"

# 3. expired: signed with the real response key, but its time has passed
sleep 300 &
v3=$!
e2e_extra_pids="$v2 $v3"
id3=$(cat /proc/sys/kernel/random/uuid)
cmd=$("$FORGE" "$LAB_DIR/server/response.key" "$id3" "$LAB_AGENT_ID" "$v3" "$(start_time $v3)" $((now - 900)) $((now - 600)) "$(openssl rand -hex 16)") || fail "forge"
inject "$id3" "$v3" "$(start_time $v3)" "$cmd"

# 4. replayed: a nonce the agent has already seen, on a new, valid command
used_nonce=$(db "SELECT nonce FROM actions WHERE requested_by NOT LIKE 'test:%' ORDER BY requested_ns LIMIT 1")
sleep 300 &
v4=$!
e2e_extra_pids="$v2 $v3 $v4"
id4=$(cat /proc/sys/kernel/random/uuid)
cmd=$("$FORGE" "$LAB_DIR/server/response.key" "$id4" "$LAB_AGENT_ID" "$v4" "$(start_time $v4)" "$now" $((now + 300)) "$used_nonce") || fail "forge"
inject "$id4" "$v4" "$(start_time $v4)" "$cmd"

# 5. a reused pid: right key, fresh nonce, but the start time is not the process's
sleep 300 &
v5=$!
e2e_extra_pids="$v2 $v3 $v4 $v5"
id5=$(cat /proc/sys/kernel/random/uuid)
cmd=$("$FORGE" "$LAB_DIR/server/response.key" "$id5" "$LAB_AGENT_ID" "$v5" $(($(start_time $v5) - 1)) "$now" $((now + 300)) "$(openssl rand -hex 16)") || fail "forge"
inject "$id5" "$v5" 1 "$cmd"

wake_with_legit_kill
for pair in "forged:$id2:$v2" "expired:$id3:$v3" "replayed:$id4:$v4" "pid-changed:$id5:$v5"; do
	IFS=: read -r what id pid <<<"$pair"
	s=$(wait_status "$id") || fail "$what command: no result from the agent (status '$s')"
	case "$s" in refused*) ;; *) fail "$what command was not refused: $s" ;; esac
	alive "$pid" || fail "$what command: pid $pid was killed"
	ok "$what command refused ($s); pid $pid still alive"
done
grep -q E3501 "$LAB_DIR/agent.log" || fail "no E3501 (forged) log line"
grep -q E3503 "$LAB_DIR/agent.log" || fail "no E3503 (expired) log line"
grep -q E3506 "$LAB_DIR/agent.log" || fail "no E3506 (replay) log line"

# the audit log holds the request and each result
n_req=$(db "SELECT count(*) FROM audit WHERE action = 'action.requested'")
n_res=$(db "SELECT count(*) FROM audit WHERE action = 'action.result'")
[ "$n_req" -ge 2 ] || fail "audit: $n_req action.requested rows"
[ "$n_res" -ge 6 ] || fail "audit: $n_res action.result rows, expected >= 6"
ym audit --limit 8
ok "audit log: $n_req requests, $n_res results"
kill $v2 $v3 $v4 $v5 2>/dev/null
echo "kill: passed"
