#!/usr/bin/env bash
# Privilege separation, end to end: while the agent runs, its uplink process
# (the only one that talks to the network) runs as an unprivileged user with
# no capability, no_new_privs, a seccomp filter and no descriptor of the
# agent's state; the root agent keeps root. Killing the uplink process
# loses nothing: the root starts a new one, the batches spooled meanwhile
# arrive, sequence numbers stay gapless, and commands still work.
TEST_NAME=privsep
. "$(dirname "$0")/common.sh"

lab_start || fail "lab did not start"

# the agent's child running `yamori-agent uplink-child`
uplink_pid() {
	local c
	for c in $(cat /proc/"$LAB_AGENT_PID"/task/*/children 2>/dev/null); do
		tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q 'uplink-child' && { echo "$c"; return 0; }
	done
	return 1
}
field() { awk -v k="$2:" '$1 == k {$1 = ""; print substr($0, 2)}' "/proc/$1/status"; }
wait_uplink() { # [not-this-pid]: waits for an uplink process that said READY, prints its pid
	local p
	for _ in $(seq 1 100); do
		# READY comes after the drop: before it, the process may still be root
		p=$(uplink_pid) && [ "$p" != "${1:-}" ] &&
			grep -q "uplink process $p running" "$LAB_DIR/agent.log" && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}
stored() { db "SELECT count(*) FROM events WHERE command_line = '/bin/true $1'"; }
wait_stored() {
	for _ in $(seq 1 150); do
		[ "$(stored "$1")" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}

up=$(wait_uplink) || fail "no uplink process below agent $LAB_AGENT_PID"
ok "uplink process $up runs below agent $LAB_AGENT_PID"

# 1. credentials: every uid and gid unprivileged, no capability at all
read -r ru eu su fu <<<"$(field "$up" Uid)"
read -r rg eg sg fg <<<"$(field "$up" Gid)"
echo "uplink process: Uid $ru $eu $su $fu, Gid $rg $eg $sg $fg, Groups '$(field "$up" Groups)'"
for v in $ru $eu $su $fu $rg $eg $sg $fg; do
	[ "$v" -ne 0 ] || fail "uplink process has uid or gid 0"
done
[ -z "$(field "$up" Groups)" ] || fail "uplink process keeps supplementary groups: $(field "$up" Groups)"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	v=$(field "$up" $c)
	echo "uplink process: $c $v"
	[ "$v" = 0000000000000000 ] || fail "uplink process $c is $v"
done
[ "$(field "$up" NoNewPrivs)" = 1 ] || fail "uplink process without no_new_privs"
sc=$(field "$up" Seccomp)
if grep -q W3706 "$LAB_DIR/agent.log"; then
	echo "note: built without libseccomp: no filter (Seccomp $sc)"
else
	[ "$sc" = 2 ] || fail "uplink process Seccomp mode $sc, expected 2 (filter)"
	ok "seccomp filter installed"
fi
[ "$(field "$LAB_AGENT_PID" Uid | awk '{print $2}')" -eq 0 ] || fail "the root agent is not root"
ok "uplink process: uid $eu gid $eg, no capabilities, no_new_privs; root agent stays root"

# 2. descriptors: nothing of the state directory, no eBPF map, no netlink
bad=0
for fd in /proc/"$up"/fd/*; do
	t=$(readlink "$fd") || continue
	case "$t" in
	"$LAB_DIR"/*log) ;; # stderr: the agent's log
	socket:* | /dev/null | pipe:* | anon_inode:\[eventfd\] | anon_inode:\[eventpoll\]) ;;
	*) echo "uplink process holds $fd -> $t"; bad=1 ;;
	esac
done
[ "$bad" -eq 0 ] || fail "uplink process holds descriptors it does not need"
ok "uplink process holds only its channels, sockets and stderr"

# 3. data flows through it
marker="ymprivsep$$x$RANDOM"
/bin/true "$marker-1"
wait_stored "$marker-1" || fail "event not stored through the uplink process"
ok "events reach the server through the uplink process"

# 4. kill it: the root starts another, and nothing is lost meanwhile
kill -KILL "$up"
for i in 2 3 4 5 6; do /bin/true "$marker-$i"; done
up2=$(wait_uplink "$up") || fail "no new uplink process after kill -9 of $up"
grep -q W3702 "$LAB_DIR/agent.log" || fail "no W3702 log line for the dead uplink process"
[ "$(field "$up2" Uid | awk '{print $2}')" -ne 0 ] || fail "new uplink process runs as root"
ok "uplink process $up killed; the root started $up2"
for i in 2 3 4 5 6; do
	wait_stored "$marker-$i" || fail "event $i spooled while the uplink process was dead was lost"
done
ok "events spooled while it was dead arrived"

# 5. commands still run, verified by the root
sleep 300 &
victim=$!
e2e_extra_pids=$victim
for _ in $(seq 1 100); do
	[ "$(db "SELECT count(*) FROM events WHERE agent_id = '$LAB_AGENT_ID' AND pid = $victim AND category = 1")" -ge 1 ] && break
	sleep 0.1
done
ym kill --agent "$LAB_AGENT_ID" --pid "$victim" >/dev/null || fail "kill through the new uplink process not done"
wait "$victim" 2>/dev/null
[ $? -eq 137 ] || fail "victim not killed"
e2e_extra_pids=
ok "kill command through the new uplink process: done"

# 6. sequence numbers: gapless, each stored once
for _ in $(seq 1 100); do
	[ "$(lab_spooled)" -eq 0 ] && break
	sleep 0.1
done
# ... and the agent's own traffic to the server is never reported: the new
# uplink process connected at once, before the collector's next tick (the
# families knew its pid only from that tick until 2026-11-27). The agent's
# processes (the root and its uplinks) run yamori-agent; the CLI's own
# connections (ym kill above) are another program's, and reported.
own_q="FROM events WHERE agent_id = '$LAB_AGENT_ID' AND category = 3 AND json_extract(fields, '\$.DestinationPort') = '$LAB_PORT' AND json_extract(fields, '\$.Initiated') = 'true' AND json_extract(fields, '\$.Image') LIKE '%/yamori-agent'"
own=$(db "SELECT count(*) $own_q")
[ "$own" -eq 0 ] || fail "$own connections of the agent to its server reported: $(db "SELECT json_extract(fields, '\$.ProcessId'), ts_ns, json_extract(fields, '\$.SourcePort'), json_extract(fields, '\$.Count') $own_q" | tr '\n' ' ')"
ok "no connection of the agent to its server reported (uplink processes $up, $up2)"
IFS='|' read -r cnt distinct mn mx < <(db "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE agent_id = '$LAB_AGENT_ID'")
[ "$cnt" -eq "$distinct" ] && [ "$mn" -eq 1 ] && [ "$cnt" -eq $((mx - mn + 1)) ] ||
	fail "sequence numbers: count=$cnt distinct=$distinct min=$mn max=$mx"
ok "sequence numbers 1..$mx each stored once"

# 7. a clean stop takes the uplink process with it
lab_agent_stop
sleep 0.2
[ ! -e "/proc/$up2" ] || [ "$(awk '{print $3}' "/proc/$up2/stat")" = Z ] || fail "uplink process $up2 outlived the agent"
ok "uplink process ended with the agent"
echo "privsep: passed"
