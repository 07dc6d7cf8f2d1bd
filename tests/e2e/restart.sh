#!/usr/bin/env bash
# The server is killed (SIGKILL) while the endpoint is busy, then restarted.
# The agent spools meanwhile and catches up. Proves by sequence numbers that
# every event was stored exactly once: the agent's sequence numbers in the
# database run from 1 without a gap or a duplicate, and every one of the
# workload's executions is there once.
TEST_NAME=restart
. "$(dirname "$0")/common.sh"

lab_start || fail "lab did not start"
marker="ymrestart$$x$RANDOM"
n=1500
(for i in $(seq 1 "$n"); do
	/bin/true "$marker" "$i"
	[ $((i % 100)) -eq 0 ] && sleep 0.25
done) &
wl=$!
e2e_extra_pids=$wl
sleep 1
kill -KILL "$LAB_SERVER_PID"
wait "$LAB_SERVER_PID" 2>/dev/null
LAB_SERVER_PID=
ok "server killed with SIGKILL during activity"
sleep 2
spooled=$(lab_spooled)
ok "agent spooled $spooled batches while the server was down"
lab_server_start || fail "server did not restart"
ok "server restarted"
wait "$wl"
e2e_extra_pids=

# Every execution of the workload is one process_creation event whose parent
# is the workload's shell: the parent comes from the kernel's fork message,
# so it is known even for a process that exited before /proc could be read.
want=$((n + n / 100 + 1)) # the /bin/true runs, the sleeps and the seq
stored=0
for _ in $(seq 1 300); do
	stored=$(db "SELECT count(*) FROM events WHERE agent_id = '$LAB_AGENT_ID' AND category = 1 AND json_extract(fields, '$.ParentProcessId') = '$wl'")
	[ "$stored" -ge "$want" ] && break
	sleep 0.1
done
[ "$stored" -eq "$want" ] || fail "workload: $want executions, $stored stored"
withcmd=$(db "SELECT count(*) FROM events WHERE command_line LIKE '/bin/true $marker %'")
echo "workload executions with their command line captured: $withcmd of $n"
ok "all $want workload executions stored exactly once"

# wait until the spool is drained, then check the sequence numbers
for _ in $(seq 1 100); do
	[ "$(lab_spooled)" -eq 0 ] && break
	sleep 0.1
done
IFS='|' read -r cnt distinct mn mx < <(db "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE agent_id = '$LAB_AGENT_ID'")
echo "sequence numbers stored: count=$cnt distinct=$distinct min=$mn max=$mx"
[ "$cnt" -eq "$distinct" ] || fail "duplicate sequence numbers"
[ "$mn" -eq 1 ] || fail "first sequence number is $mn, not 1"
[ "$cnt" -eq $((mx - mn + 1)) ] || fail "gap: $cnt events for sequence numbers $mn..$mx"
ok "sequence numbers 1..$mx each stored exactly once"

# a clean agent restart continues the numbering without a gap
lab_agent_stop
lab_agent_start || fail "agent did not restart"
/bin/true "$marker-after-agent-restart"
for _ in $(seq 1 100); do
	[ "$(db "SELECT count(*) FROM events WHERE command_line = '/bin/true $marker-after-agent-restart'")" -ge 1 ] && break
	sleep 0.1
done
IFS='|' read -r cnt distinct mn mx < <(db "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE agent_id = '$LAB_AGENT_ID'")
[ "$cnt" -eq "$distinct" ] && [ "$mn" -eq 1 ] && [ "$cnt" -eq $((mx - mn + 1)) ] ||
	fail "after a clean agent restart: count=$cnt distinct=$distinct min=$mn max=$mx"
ok "after a clean agent restart: sequence numbers 1..$mx still each stored exactly once"

# how the previous run ended, in the started status event: clean above;
# an agent killed with SIGKILL leaves its running marker, and the next run
# says so (W3017, PreviousStop=unclean with the killed run's pid)
started() { # field: of the newest started status
	db "SELECT json_extract(fields, '\$.$1') FROM events WHERE agent_id = '$LAB_AGENT_ID'
	    AND category = 7 AND json_extract(fields, '\$.Status') = 'started' ORDER BY seq DESC LIMIT 1"
}
[ "$(started PreviousStop)" = clean ] || fail "after a clean stop: PreviousStop '$(started PreviousStop)'"
[ -f "$LAB_DIR/agent/running" ] || fail "no running marker in the state directory"
killed=$LAB_AGENT_PID
kill -KILL "$killed"
wait "$killed" 2>/dev/null
LAB_AGENT_PID=
[ -f "$LAB_DIR/agent/running" ] || fail "the killed agent's running marker is gone"
lab_agent_start || fail "agent did not start after SIGKILL"
grep -q "W3017 the previous run (pid $killed, started " "$LAB_DIR/agent.log" || fail "no W3017 for pid $killed"
for _ in $(seq 1 100); do
	[ "$(started PreviousPid)" = "$killed" ] && break
	sleep 0.1
done
[ "$(started PreviousStop)" = unclean ] && [ "$(started PreviousPid)" = "$killed" ] &&
	[ -n "$(started PreviousStarted)" ] ||
	fail "after SIGKILL: PreviousStop '$(started PreviousStop)' PreviousPid '$(started PreviousPid)', want unclean $killed"
ym agents | grep -q "dropped:.*unclean_stop=1" || fail "yamori agents does not count the unclean stop"
# and the project's rule makes it an alert (rules/linux/agent_status)
rid=$(lab_rule_id "$(lab_rule_file agent_ended_without_stop)")
[ "$(db "SELECT count(*) FROM alerts WHERE rule_id = '$rid' AND agent_id = '$LAB_AGENT_ID'")" -eq 1 ] ||
	fail "no alert of rule $rid (agent ended without its stop)"
lab_agent_stop
[ ! -e "$LAB_DIR/agent/running" ] || fail "the running marker is left after a clean stop"
ok "an agent killed with SIGKILL: the next run reports PreviousStop=unclean, PreviousPid=$killed; yamori agents counts unclean_stop=1; one alert"
echo "restart: passed (server down ~2 s, $spooled batches spooled)"
