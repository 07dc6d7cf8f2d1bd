#!/usr/bin/env bash
# Process family, one mode (bpf or netlink): a real server and agent
# (scripts/lab.sh) with --mode process=MODE; real actions; the stored events
# must carry the exact fields. Usage: process.sh MODE
set -u
MODE=${1:?mode}
TEST_NAME=sensors-process-$MODE
. "$YM_SRC/tests/e2e/common.sh"
# what a failed check leaves outside the lab: cgroups, a cgroup2 mount, a
# setuid copy (each variable is emptied once its block undid it)
cg="" cgmnt="" cg1="" sdir="" fhdir="" fhpid=""
sens_cleanup() {
	[ -n "$fhpid" ] && { pkill -P "$fhpid" 2>/dev/null; wait "$fhpid" 2>/dev/null; }
	[ -n "$fhdir" ] && { umount -l "$fhdir" 2>/dev/null; rm -rf "$fhdir" "$fhdir.out"; }
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	[ -n "$cgmnt" ] && { umount "$cgmnt" 2>/dev/null; rmdir "$cgmnt" 2>/dev/null; }
	[ -n "$cg1" ] && { rmdir "$cg1" "${cg1%/*}" 2>/dev/null; }
	[ -n "$sdir" ] && rm -rf "$sdir"
	e2e_cleanup
}
trap sens_cleanup EXIT
helper="$LAB_BIN/ym-sensor-helper"
[ -x "$helper" ] || fail "$helper not built"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# the agent started by common.sh's lab would run the default modes; this
# test needs its own, for every start of the lab's agent
LAB_AGENT_ARGS=(--mode "process=$MODE")
if ! lab_start >/dev/null 2>&1; then
	if [ "$MODE" = bpf ] && grep -q "cannot start process sensor bpf" "$LAB_DIR/agent.log"; then
		# on a kernel the sensor supports (5.17+, BTF, no lockdown) the
		# refusal is the sensor's fault (tests/sensors/bpfok.h)
		rel=$(uname -r)
		maj=${rel%%.*}
		min=${rel#*.}
		min=${min%%[!0-9]*}
		if [ -r /sys/kernel/btf/vmlinux ] && { [ "$maj" -gt 5 ] || { [ "$maj" -eq 5 ] && [ "${min:-0}" -ge 17 ]; }; } &&
			! grep -qsv '\[none\]' /sys/kernel/security/lockdown; then
			grep "process sensor" "$LAB_DIR/agent.log" | tail -n 3
			fail "the eBPF process sensor did not start on a kernel it supports (5.17+, BTF, no lockdown)"
		fi
		echo "SKIP: the kernel refuses the eBPF process sensor here:"
		grep "process sensor" "$LAB_DIR/agent.log" | tail -n 3
		exit 77
	fi
	fail "lab did not start"
fi
grep -q "sensor process=$MODE" "$LAB_DIR/agent.log" || fail "agent did not run process=$MODE"

# json field of the first event matching a SQL condition
q() { db "SELECT json_extract(fields, '\$.$1') FROM events WHERE $2 ORDER BY seq LIMIT 1"; }
# waits until a row of table $1 matches a SQL condition ($2), $3 tries
wait_row() {
	for _ in $(seq 1 "$3"); do
		[ "$(db "SELECT count(*) FROM $1 WHERE $2")" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}
# waits until an event matches
wait_ev() { wait_row events "$1" 100 || fail "no event where $1"; }
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
# the setns event of the helper's "setns" output $1 ("pid N ino I"): sets
# np, nino and cn (its condition), and waits for it
setns_ev() {
	read -r _ np _ nino <<<"$1"
	cn="category = 10 AND json_extract(fields, '\$.ProcessId') = '$np' AND json_extract(fields, '\$.Syscall') = 'setns'"
	wait_ev "$cn"
}
# waits until an alert matches a SQL condition ($1); fails with $2
wait_alert() { wait_row alerts "$1" 50 || fail "$2"; }
# the process family's own creation events (the auditd family, where it
# runs, reports executions too, from audit records: not what is tested here)
P1="category = 1 AND json_extract(fields, '\$.ProcessStartTime') IS NOT NULL"

mark="ymsens$$"
wd=$(mktemp -d /tmp/ym-sens-cwd.XXXXXX)

# exec with known argv, from a known cwd, in a subshell whose pid we know
# (it lives 0.3 s: the netlink mode reads argv from /proc after the fact)
( cd "$wd" && exec /bin/sh -c "sleep 0.3; :" "$mark" 'two words' ) &
sh_pid=$!
wait $sh_pid
c1="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3; : $mark two words'"
wait_ev "$c1"
eq "$(q Image "$c1")" "$(readlink -f /bin/sh)" Image
eq "$(q ProcessId "$c1")" "$sh_pid" ProcessId
eq "$(q CurrentDirectory "$c1")" "$wd" CurrentDirectory
eq "$(q UserId "$c1")" "0" UserId
eq "$(q User "$c1")" "root" User
eq "$(q ParentProcessId "$c1")" "$$" ParentProcessId
eq "$(q ParentImage "$c1")" "$(readlink /proc/$$/exe)" ParentImage
sha=$(sha256sum "$(readlink -f /bin/sh)" | cut -d' ' -f1)
eq "$(q Hashes "$c1")" "SHA256=$sha" Hashes
# ProcessGuid: SHA-256 of boot id, pid and start time (the same in every mode)
st=$(q ProcessStartTime "$c1")
boot=$(cat /proc/sys/kernel/random/boot_id)
h=$(printf '%s:%s:%s' "$boot" "$sh_pid" "$st" | sha256sum | cut -c1-32)
eq "$(q ProcessGuid "$c1")" "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}" ProcessGuid
# the parent's GUID from its /proc start time (field 22)
pst=$(awk '{ sub(/.*\) /, ""); print $20 }' /proc/$$/stat)
h=$(printf '%s:%s:%s' "$boot" "$$" "$pst" | sha256sum | cut -c1-32)
eq "$(q ParentProcessGuid "$c1")" "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}" ParentProcessGuid
# the login session: this shell's, when it runs in one (unset: no field)
lu=$(cat /proc/$$/loginuid 2>/dev/null) lsess=$(cat /proc/$$/sessionid 2>/dev/null)
[ "$lu" = 4294967295 ] && lu=""
[ "$lsess" = 4294967295 ] && lsess=""
eq "$(q LoginUid "$c1")" "$lu" LoginUid
eq "$(q SessionId "$c1")" "$lsess" SessionId
ok "exec: Image, CommandLine, cwd, user, parent, hash, GUIDs"

# a login (what pam_loginuid does: root writes the session's user to
# /proc/self/loginuid, the kernel gives it a new session id), then a
# command run in it: both are inherited, and the exec reports them
sf=$(mktemp /tmp/ym-sens-sess.XXXXXX)
(echo 4242 >/proc/self/loginuid 2>/dev/null && cat /proc/self/sessionid >"$sf" &&
	exec /bin/sh -c "sleep 0.3; :" "$mark-login") & lp=$!
if wait $lp; then
	cl="$P1 AND json_extract(fields, '\$.ProcessId') = '$lp'"
	wait_ev "$cl"
	eq "$(q CommandLine "$cl")" "/bin/sh -c sleep 0.3; : $mark-login" "login: CommandLine"
	eq "$(q LoginUid "$cl")" "4242" "login: LoginUid"
	eq "$(q SessionId "$cl")" "$(cat "$sf")" "login: SessionId"
	ok "exec in a login session: LoginUid, SessionId"
else
	echo "note: /proc/self/loginuid cannot be written here (no audit support, or no CAP_AUDIT_CONTROL): the login session is not checked"
fi
rm -f "$sf"

# the start time is /proc's field 22 (the kill command compares it)
sleep 300 & sp=$!
c2="$P1 AND json_extract(fields, '\$.ProcessId') = '$sp'"
wait_ev "$c2"
eq "$(q ProcessStartTime "$c2")" "$(awk '{ sub(/.*\) /, ""); print $20 }' /proc/$sp/stat)" ProcessStartTime
kill $sp; wait $sp 2>/dev/null
ok "ProcessStartTime = /proc/PID/stat field 22"

# exit code and killing signal (process_termination)
"$helper" exit 7 & ep=$!
wait $ep
c3="category = 2 AND json_extract(fields, '\$.ProcessId') = '$ep'"
wait_ev "$c3"
eq "$(q ExitCode "$c3")" "7" ExitCode
eq "$(q Image "$c3")" "$helper" "termination Image"
c3s="category = 2 AND json_extract(fields, '\$.ProcessId') = '$sp'"
wait_ev "$c3s"
eq "$(q ExitSignal "$c3s")" "15" ExitSignal
ok "exit: ExitCode, ExitSignal"

# fork without exec: a subshell is named after its parent's image
# (the child lives a while: the netlink mode reads its argv from /proc)
( sleep 0.2; /bin/sh -c "sleep 0.3" "$mark-sub"; : ) & fp=$!
wait $fp
c4="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3 $mark-sub'"
wait_ev "$c4"
eq "$(q ParentProcessId "$c4")" "$fp" "fork: ParentProcessId"
eq "$(q ParentImage "$c4")" "$(readlink /proc/$$/exe)" "fork: ParentImage"
ok "fork: the forked subshell is a named parent"

# posix_spawn (CLONE_VM | CLONE_VFORK: the eBPF mode sends no fork record
# for such a child, its exec names it): creation and termination, GUIDs
out=$("$helper" spawn "$mark-spawn") || fail "spawn helper"
xp=${out#pid }
c10="$P1 AND json_extract(fields, '\$.ProcessId') = '$xp'"
wait_ev "$c10"
eq "$(q CommandLine "$c10")" "/bin/sh -c sleep 0.3; exit 3 $mark-spawn" "spawn: CommandLine"
eq "$(q Image "$c10")" "$(readlink -f /bin/sh)" "spawn: Image"
eq "$(q ParentImage "$c10")" "$helper" "spawn: ParentImage"
eq "$(q ParentCommandLine "$c10")" "$helper spawn $mark-spawn" "spawn: ParentCommandLine"
hp=$(q ParentProcessId "$c10")
h=$(printf '%s:%s:%s' "$boot" "$xp" "$(q ProcessStartTime "$c10")" | sha256sum | cut -c1-32)
g="${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
eq "$(q ProcessGuid "$c10")" "$g" "spawn: ProcessGuid"
c10x="category = 2 AND json_extract(fields, '\$.ProcessId') = '$xp'"
wait_ev "$c10x"
eq "$(q ExitCode "$c10x")" "3" "spawn: ExitCode"
eq "$(q ProcessGuid "$c10x")" "$g" "spawn: termination ProcessGuid"
eq "$(q ParentProcessId "$c10x")" "$hp" "spawn: termination ParentProcessId"
ok "posix_spawn: creation and termination of a CLONE_VM child"

# the controlling terminal (Tty, as the kernel names it: ptsN) and the
# container (ContainerId: the 64-hex id in the cgroup path), in every mode:
# a shell under a new pseudo-terminal (script), in a cgroup v2 named as
# Docker names its containers' (v2 mounted for the test where the host has
# no v2 mount: a cgroup v1 host, whose v2 hierarchy exists unmounted)
cid=$(printf '%s' "$mark" | sha256sum | cut -c1-64)
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	cgroot=/sys/fs/cgroup
else
	cgmnt=$(mktemp -d /tmp/ym-cg2.XXXXXX)
	mount -t cgroup2 none "$cgmnt" || fail "mount cgroup2 on $cgmnt"
	cgroot=$cgmnt
fi
cg="$cgroot/docker-$cid.scope"
mkdir "$cg" || fail "mkdir $cg"
ttyf=$(mktemp /tmp/ym-tty.XXXXXX)
script -qec "/bin/sh -c 'echo \$\$ > $cg/cgroup.procs && readlink /proc/self/fd/0 > $ttyf && exec /bin/sh -c \"sleep 0.3; :\" $mark-tty'" /dev/null >/dev/null ||
	fail "script"
pts=$(cat "$ttyf")
rm -f "$ttyf"
case $pts in /dev/pts/[0-9]*) ;; *) fail "no pseudo-terminal: '$pts'" ;; esac
c6="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3; : $mark-tty'"
wait_ev "$c6"
eq "$(q Tty "$c6")" "pts${pts#/dev/pts/}" Tty
eq "$(q ContainerId "$c6")" "$cid" ContainerId
[ "$MODE" = bpf ] && eq "$(q CgroupId "$c6")" "$(stat -c %i "$cg")" CgroupId
ok "exec: Tty, ContainerId"
# execs out of, in and out of the container one after the other: each
# names its own cgroup's container or none (the bpf sensor keeps the last
# cgroup path's answer)
# (each lives 0.3 s, for the netlink mode's read of /proc)
/bin/sh -c "sleep 0.3; :" "$mark-host1"
/bin/sh -c "echo \$\$ > $cg/cgroup.procs && exec /bin/sh -c 'sleep 0.3; :' $mark-ctr2" ||
	fail "exec in the container"
/bin/sh -c "sleep 0.3; :" "$mark-host2"
for w in host1: ctr2:"$cid" host2:; do
	cw="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3; : $mark-${w%%:*}'"
	wait_ev "$cw"
	eq "$(q ContainerId "$cw")" "${w#*:}" "exec ${w%%:*}: ContainerId"
done
ok "execs in and out of a container: ContainerId of each"

# the process's other events name its container too, from the process
# table (its exec's, inherited by a fork): a connection, whose network
# sensor knows nothing of cgroups, and the termination
if grep -q "network sensor: " "$LAB_DIR/agent.log"; then
	out=$(/bin/sh -c "echo \$\$ > $cg/cgroup.procs && exec $helper setuid-connect 0") ||
		fail "connect in the container"
	read -r _ hp _ port <<<"$out"
	c6n="category = 3 AND json_extract(fields, '\$.ProcessId') = '$hp' AND json_extract(fields, '\$.Action') = 'connect' AND json_extract(fields, '\$.DestinationPort') = '$port'"
	wait_ev "$c6n"
	eq "$(q Image "$c6n")" "$helper" "connection in a container: Image"
	eq "$(q ContainerId "$c6n")" "$cid" "connection in a container: ContainerId"
	c6x="category = 2 AND json_extract(fields, '\$.ProcessId') = '$hp'"
	wait_ev "$c6x"
	eq "$(q ContainerId "$c6x")" "$cid" "termination in a container: ContainerId"
	ok "a container's connection and termination: ContainerId"
fi
# a process in the container joining the host's namespace (setns, as
# nsenter -t 1 does to leave a container): the event and the rule's alert
if [ "$MODE" = bpf ]; then
	out=$(/bin/sh -c "echo \$\$ > $cg/cgroup.procs && exec $helper setns host") ||
		fail "setns in the container: $out"
	setns_ev "$out"
	eq "$(q Namespace "$cn")" "uts" "setns: Namespace"
	eq "$(q NamespaceInode "$cn")" "$nino" "setns: NamespaceInode"
	eq "$(q NamespaceOfHost "$cn")" "true" "setns: NamespaceOfHost"
	eq "$(q ContainerId "$cn")" "$cid" "setns: ContainerId"
	eq "$(q Image "$cn")" "$helper" "setns: Image"
	ok "setns into the host's namespace from a container"
	ca="rule_id = '$(sed -n 's/^id: //p' "$YM_SRC/rules/linux/privilege_change/container_escape_setns_into_host.yml")' AND event LIKE '%\"ProcessId\":\"$np\"%'"
	wait_alert "$ca" "no alert of container_escape_setns_into_host"
	ok "container_escape_setns_into_host alert"
fi
rmdir "$cg" && cg=""
[ -n "$cgmnt" ] && umount "$cgmnt" && rmdir "$cgmnt" && cgmnt=""

# a cgroup v1 host (controllers mounted as v1: Docker makes /docker/<id> in
# each hierarchy, the task stays in the v2 root): the memory controller's
# cgroup names the container, in both modes
if [ "$(stat -fc %T /sys/fs/cgroup/memory 2>/dev/null)" = cgroupfs ]; then
	cid1=$(printf '%s-v1' "$mark" | sha256sum | cut -c1-64)
	cg1=/sys/fs/cgroup/memory/docker/$cid1
	mkdir -p "$cg1" || fail "mkdir $cg1"
	/bin/sh -c "echo \$\$ > $cg1/cgroup.procs && exec /bin/sh -c 'sleep 0.3; :' $mark-v1" ||
		fail "v1 cgroup shell"
	c6b="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3; : $mark-v1'"
	wait_ev "$c6b"
	eq "$(q ContainerId "$c6b")" "$cid1" "cgroup v1: ContainerId"
	rmdir "$cg1" && cg1=""
	rmdir /sys/fs/cgroup/memory/docker 2>/dev/null
	ok "exec: ContainerId from a cgroup v1 hierarchy"
fi

# a setuid and setgid program run by another user and group:
# EffectiveUserId and EffectiveGroupId (its real ids are UserId and
# GroupId, named by User and Group); a copy of sleep owned by root:root
# with both bits, named after the test
sdir=$(mktemp -d /tmp/ym-suid.XXXXXX)
chmod 755 "$sdir"
cp /bin/sleep "$sdir/sleep-$mark"
chown 0:0 "$sdir/sleep-$mark"
chmod 6755 "$sdir/sleep-$mark"
nobody=$(id -u nobody)
nogroup=$(getent group "$nobody" | cut -d: -f1)
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups "$sdir/sleep-$mark" 0.3 ||
	fail "setuid sleep"
c7="$P1 AND json_extract(fields, '\$.Image') = '$sdir/sleep-$mark'"
wait_ev "$c7"
eq "$(q UserId "$c7")" "$nobody" "setuid exec: UserId"
eq "$(q EffectiveUserId "$c7")" "0" "setuid exec: EffectiveUserId"
eq "$(q GroupId "$c7")" "$nobody" "setgid exec: GroupId"
[ -n "$nogroup" ] && eq "$(q Group "$c7")" "$nogroup" "setgid exec: Group"
eq "$(q EffectiveGroupId "$c7")" "0" "setgid exec: EffectiveGroupId"
rm -rf "$sdir" && sdir=""
# a process of root's group: GroupId and Group, no EffectiveGroupId
c7r="$P1 AND json_extract(fields, '\$.CommandLine') = '/bin/sh -c sleep 0.3; : $mark-tty'"
eq "$(q GroupId "$c7r")" "0" "exec: GroupId"
eq "$(q Group "$c7r")" "root" "exec: Group"
eq "$(q EffectiveGroupId "$c7r")" "" "exec: no EffectiveGroupId"
ok "exec: GroupId, Group; EffectiveUserId and EffectiveGroupId of a setuid and setgid program"

if [ "$MODE" = bpf ]; then
	# a user the test can switch to
	nobody=$(id -u nobody)
	out=$("$helper" setuid "$nobody") || fail "setuid helper"
	hp=${out#pid }
	c5="category = 10 AND json_extract(fields, '\$.EventType') = 'privilege_change' AND json_extract(fields, '\$.ProcessId') = '$hp'"
	wait_ev "$c5"
	eq "$(q Syscall "$c5")" "setresuid" Syscall
	eq "$(q UserId "$c5")" "$nobody" "privilege_change UserId"
	eq "$(q EffectiveUserId "$c5")" "$nobody" "privilege_change EffectiveUserId"
	eq "$(q GroupId "$c5")" "0" "privilege_change GroupId"
	eq "$(q Group "$c5")" "root" "privilege_change Group"
	eq "$(q Image "$c5")" "$helper" "privilege_change Image"
	eq "$(q Result "$c5")" "0" "privilege_change Result"
	eq "$(q SyscallAbi "$c5")" "" "privilege_change: no SyscallAbi for a 64-bit call"
	ok "privilege change: setresuid"

	# the same as a 32-bit call, int 0x80 from 64-bit code: the 64-bit
	# call's event, marked, and the rule pack's alert
	rc=0
	out=$("$helper" setuid-int80 "$nobody") || rc=$?
	if [ "$rc" = 77 ]; then
		echo "skip: no IA32 emulation in this kernel: the int 0x80 setuid"
	else
		[ "$rc" = 0 ] || fail "setuid-int80 helper"
		hp=${out#pid }
		c5i="category = 10 AND json_extract(fields, '\$.ProcessId') = '$hp'"
		wait_ev "$c5i"
		eq "$(q Syscall "$c5i")" "setuid" "int 0x80 setuid: Syscall"
		eq "$(q SyscallAbi "$c5i")" "int80" "int 0x80 setuid: SyscallAbi"
		eq "$(q SyscallArg0 "$c5i")" "$nobody" "int 0x80 setuid: SyscallArg0"
		eq "$(q UserId "$c5i")" "$nobody" "int 0x80 setuid: UserId"
		ca="rule_id = '$(sed -n 's/^id: //p' "$YM_SRC/rules/linux/privilege_change/privilege_change_by_int80_from_64bit.yml")' AND event LIKE '%\"ProcessId\":\"$hp\"%'"
		wait_alert "$ca" "no alert of privilege_change_by_int80_from_64bit"
		ok "privilege change made with int 0x80 from 64-bit code: SyscallAbi int80, alert"
	fi

	"$helper" memfd-exec "$mark-memfd" & mp=$!
	wait $mp
	c6="$P1 AND json_extract(fields, '\$.CommandLine') = '$mark-memfd 1'"
	wait_ev "$c6"
	eq "$(q ExecFromMemory "$c6")" "true" ExecFromMemory
	eq "$(q Image "$c6")" "/memfd:ymtest (deleted)" "memfd Image"
	# hashed through /proc/PID/exe while it runs (it sleeps 1 s)
	eq "$(q Hashes "$c6")" "SHA256=$(sha256sum /bin/sleep | cut -d' ' -f1)" "memfd Hashes"
	ok "exec from memory: memfd"

	out=$("$helper" deleted-exec "$mark-del") || fail "deleted-exec helper"
	c6d="$P1 AND json_extract(fields, '\$.CommandLine') = 'ymdeleted $mark-del'"
	wait_ev "$c6d"
	eq "$(q ImageDeleted "$c6d")" "true" ImageDeleted
	case "$(q Image "$c6d")" in /tmp/ym-deleted-*" (deleted)") ;; *) fail "deleted Image: $(q Image "$c6d")" ;; esac
	ok "exec of a deleted file"

	# a posix_spawn child that cannot exec: no fork record, and its exit
	# record says it never exec'd; it is named after its parent
	out=$("$helper" spawn-fail "$mark-nx") || fail "spawn-fail helper"
	fp2=${out#ppid }
	c11="category = 2 AND json_extract(fields, '\$.ParentProcessId') = '$fp2'"
	wait_ev "$c11"
	eq "$(q ExitCode "$c11")" "127" "spawn-fail: ExitCode"
	eq "$(q Image "$c11")" "$helper" "spawn-fail: Image"
	[ -n "$(q ProcessGuid "$c11")" ] || fail "spawn-fail: no ProcessGuid"
	ok "posix_spawn child that never exec'd: termination named after its parent"

	# a kernel built without module support has no finit_module (ENOSYS)
	# and so no syscalls/sys_exit_finit_module tracepoint: the agent, on
	# tracepoints, sees no attempt there (docs/sensors.md, "System calls")
	if [ -e /proc/modules ]; then
		modf=$(mktemp /tmp/ym-notamodule.XXXXXX)
		echo "not a module" >"$modf"
		out=$("$helper" finit-module "$modf") || fail "finit-module helper"
		c7="category = 11 AND json_extract(fields, '\$.EventType') = 'driver_load' AND json_extract(fields, '\$.ImageLoaded') = '$modf'"
		wait_ev "$c7"
		eq "$(q Syscall "$c7")" "finit_module" "module Syscall"
		eq "$(q ModuleParameters "$c7")" "ymparam=1" ModuleParameters
		r=$(q Result "$c7")
		[ "$r" -lt 0 ] || fail "module load of a non-module succeeded? Result $r"
		rm -f "$modf"
		ok "kernel module load attempt (finit_module, Result $r)"
	else
		echo "skip: kernel module load attempt (no module support in this kernel: no /proc/modules)"
	fi

	out=$("$helper" bpf-load ymtestprog) || fail "bpf-load helper: $out"
	c8="category = 12 AND json_extract(fields, '\$.EventType') = 'bpf_load' AND json_extract(fields, '\$.BpfProgramName') = 'ymtestprog'"
	wait_ev "$c8"
	eq "$(q BpfProgramType "$c8")" "1" BpfProgramType
	eq "$(q BpfInstructionCount "$c8")" "2" BpfInstructionCount
	eq "$(q Image "$c8")" "$helper" "bpf Image"
	ok "bpf program load"

	out=$("$helper" ptrace x) || fail "ptrace helper"
	tp=${out#pid }
	c9="category = 9 AND json_extract(fields, '\$.EventType') = 'process_access' AND json_extract(fields, '\$.TargetProcessId') = '$tp'"
	wait_ev "$c9"
	eq "$(q GrantedAccess "$c9")" "PTRACE_ATTACH" GrantedAccess
	eq "$(q SourceImage "$c9")" "$helper" SourceImage
	eq "$(q TargetImage "$c9")" "$helper" TargetImage
	ok "ptrace attach"

	# the same on a child sharing the tracer's memory (clone CLONE_VM: no
	# fork record, so the target is named from /proc)
	out=$("$helper" ptrace-vm x) || fail "ptrace-vm helper"
	tv=${out#pid }
	c9v="category = 9 AND json_extract(fields, '\$.EventType') = 'process_access' AND json_extract(fields, '\$.TargetProcessId') = '$tv'"
	wait_ev "$c9v"
	eq "$(q TargetImage "$c9v")" "$helper" "ptrace CLONE_VM child: TargetImage"
	[ -n "$(q TargetProcessGuid "$c9v")" ] || fail "ptrace CLONE_VM child: no TargetProcessGuid"
	ok "ptrace attach of a CLONE_VM child"

	# another process's memory read and written without ptrace
	out=$("$helper" vm-rw x) || fail "vm-rw helper: $out"
	tw=${out#pid }
	tw=${tw%% *}
	cr="category = 9 AND json_extract(fields, '\$.TargetProcessId') = '$tw' AND json_extract(fields, '\$.GrantedAccess') = 'PROCESS_VM_READ'"
	cw="category = 9 AND json_extract(fields, '\$.TargetProcessId') = '$tw' AND json_extract(fields, '\$.GrantedAccess') = 'PROCESS_VM_WRITE'"
	wait_ev "$cr"
	wait_ev "$cw"
	eq "$(q Syscall "$cr")" "process_vm_readv" "vm read: Syscall"
	eq "$(q Result "$cr")" "64" "vm read: Result"
	eq "$(q Result "$cw")" "17" "vm write: Result"
	eq "$(q SourceImage "$cw")" "$helper" "vm write: SourceImage"
	eq "$(q TargetImage "$cw")" "$helper" "vm write: TargetImage"
	ok "process_vm_readv, process_vm_writev"
	# the rule pack's process_access rule raises an alert on the write
	# (the helper is no debugger)
	ca="rule_id = '6a3c1f0e-4b8e-4f7c-9d2a-5e1b7c3d9a41' AND event LIKE '%PROCESS_VM_WRITE%' AND event LIKE '%\"TargetProcessId\":\"$tw\"%'"
	wait_alert "$ca" "no alert of process_memory_written for the write into $tw"
	ok "process_memory_written alert"

	# the same through the target's /proc memory file: read and written,
	# read through a descriptor of its /proc folder, and a thread's; the
	# helper's open of its own memory file gives nothing
	out=$("$helper" proc-mem x) || fail "proc-mem helper: $out"
	read -r _ tm _ tt _ ts <<<"$out"
	cm="category = 9 AND json_extract(fields, '\$.TargetProcessId') = '$tm'"
	cmw="$cm AND json_extract(fields, '\$.GrantedAccess') = 'PROCESS_VM_READ|PROCESS_VM_WRITE'"
	cmr="$cm AND json_extract(fields, '\$.GrantedAccess') = 'PROCESS_VM_READ' AND json_extract(fields, '\$.TargetThreadId') IS NULL"
	cmt="$cm AND json_extract(fields, '\$.TargetThreadId') = '$tt'"
	wait_ev "$cmw"
	wait_ev "$cmr"
	wait_ev "$cmt"
	eq "$(q Syscall "$cmw")" "openat" "/proc/PID/mem: Syscall"
	eq "$(q SourceImage "$cmw")" "$helper" "/proc/PID/mem: SourceImage"
	eq "$(q TargetImage "$cmw")" "$helper" "/proc/PID/mem: TargetImage"
	[ -n "$(q TargetProcessGuid "$cmw")" ] || fail "/proc/PID/mem: no TargetProcessGuid"
	eq "$(q Syscall "$cmr")" "openat" "openat(/proc/PID, mem): Syscall"
	eq "$(q GrantedAccess "$cmt")" "PROCESS_VM_READ" "/proc/PID/task/TID/mem: GrantedAccess"
	eq "$(db "SELECT count(*) FROM events WHERE category = 9 AND json_extract(fields, '\$.TargetProcessId') = '$ts'")" 0 \
		"its own /proc/self/mem"
	ok "another process's /proc/PID/mem opened (read, write, a thread's)"
	ca="rule_id = '6a3c1f0e-4b8e-4f7c-9d2a-5e1b7c3d9a41' AND event LIKE '%PROCESS_VM_READ|PROCESS_VM_WRITE%' AND event LIKE '%\"TargetProcessId\":\"$tm\"%'"
	wait_alert "$ca" "no alert of process_memory_written for /proc/$tm/mem"
	ok "process_memory_written alert for /proc/PID/mem"

	# a shell whose stdin, stdout and stderr are a TCP connection (a
	# reverse shell's shape): which, and the connection's other end
	mk=ym-stdio-$$
	out=$("$helper" stdio-shell "$mk") || fail "stdio-shell helper: $out"
	read -r _ sp _ sport <<<"$out"
	cs="category = 1 AND json_extract(fields, '\$.ProcessId') = '$sp' AND json_extract(fields, '\$.CommandLine') = 'sh -c : $mk'"
	wait_ev "$cs"
	eq "$(q StdioSocket "$cs")" "stdin,stdout,stderr" "stdio shell: StdioSocket"
	eq "$(q StdioProtocol "$cs")" "tcp" "stdio shell: StdioProtocol"
	eq "$(q StdioRemoteIp "$cs")" "127.0.0.1" "stdio shell: StdioRemoteIp"
	eq "$(q StdioRemotePort "$cs")" "$sport" "stdio shell: StdioRemotePort"
	[ -n "$(q StdioLocalPort "$cs")" ] || fail "stdio shell: no StdioLocalPort"
	# the helper's own exec (stdio not sockets): no such field
	eq "$(db "SELECT count(*) FROM events WHERE category = 1 AND json_extract(fields, '\$.StdioSocket') IS NOT NULL AND json_extract(fields, '\$.CommandLine') LIKE '%stdio-shell%'")" 0 \
		"the helper's exec: StdioSocket"
	ok "exec with TCP sockets for stdio: StdioSocket, the connection"
	ca="rule_id = '$(sed -n 's/^id: //p' "$YM_SRC/rules/linux/process_creation/shell_with_network_stdio.yml")' AND event LIKE '%$mk%'"
	wait_alert "$ca" "no alert of shell_with_network_stdio"
	ok "shell_with_network_stdio alert"

	# its "upgrade": a shell on a new pseudo-terminal, started by a
	# process whose stdio is the connection (python's pty.spawn): the
	# parent's, as ParentStdio*; the shell's own stdio is no socket
	mk=ym-pty-$$
	out=$("$helper" pty-shell "$mk") || fail "pty-shell helper: $out"
	read -r _ sp _ sport <<<"$out"
	cs="category = 1 AND json_extract(fields, '\$.ProcessId') = '$sp' AND json_extract(fields, '\$.CommandLine') = 'sh -c : $mk'"
	wait_ev "$cs"
	eq "$(q ParentStdioSocket "$cs")" "stdin,stdout,stderr" "pty shell: ParentStdioSocket"
	eq "$(q ParentStdioProtocol "$cs")" "tcp" "pty shell: ParentStdioProtocol"
	eq "$(q ParentStdioRemoteIp "$cs")" "127.0.0.1" "pty shell: ParentStdioRemoteIp"
	eq "$(q ParentStdioRemotePort "$cs")" "$sport" "pty shell: ParentStdioRemotePort"
	eq "$(q StdioSocket "$cs")" "" "pty shell: StdioSocket"
	case "$(q Tty "$cs")" in pts*) ;; *) fail "pty shell: Tty $(q Tty "$cs")" ;; esac
	ok "exec on a pseudo-terminal under a process with TCP stdio: ParentStdioSocket"
	ca="rule_id = '$(sed -n 's/^id: //p' "$YM_SRC/rules/linux/process_creation/shell_on_terminal_from_network_stdio.yml")' AND event LIKE '%$mk%'"
	wait_alert "$ca" "no alert of shell_on_terminal_from_network_stdio"
	ok "shell_on_terminal_from_network_stdio alert"

	# setns into a namespace that is not the host's, and through a pidfd
	out=$("$helper" setns other) || fail "setns other: $out"
	setns_ev "$out"
	eq "$(q NamespaceInode "$cn")" "$nino" "setns other: NamespaceInode"
	eq "$(q NamespaceOfHost "$cn")" "false" "setns other: NamespaceOfHost"
	out=$("$helper" setns pidfd) || fail "setns pidfd: $out"
	setns_ev "$out"
	eq "$(q Namespace "$cn")" "uts" "setns pidfd: Namespace"
	eq "$(q TargetProcessId "$cn")" "$$" "setns pidfd: TargetProcessId"
	eq "$(q NamespaceOfHost "$cn")" "true" "setns pidfd: NamespaceOfHost"
	ok "setns: another namespace, and through a pidfd"

	# unshare, and clone in a child: a UTS namespace as root, then a user
	# namespace as nobody (the rule's alert) where this kernel lets an
	# unprivileged user make one; the helper's unshare(CLONE_FILES) and
	# fork before each make none and are not reported
	for how in unshare clone; do
		for u in 0 65534; do
			out=$("$helper" $how $u) || fail "$how as $u: $out"
			case $how in
			unshare) read -r _ up _ ur <<<"$out" ;;
			clone) read -r _ up _ uc _ ur <<<"$out" ;;
			esac
			if [ "$ur" != 0 ]; then
				[ "$u" != 0 ] || fail "$how as root refused: $out"
				echo "skip: $how(CLONE_NEWUSER) refused to uid $u here (errno $ur): no user namespace event"
				continue
			fi
			cu="category = 10 AND json_extract(fields, '\$.ProcessId') = '$up' AND json_extract(fields, '\$.Syscall') = '$how'"
			wait_ev "$cu"
			if [ "$u" = 0 ]; then
				eq "$(q Namespace "$cu")" "uts" "$how: Namespace"
			else
				eq "$(q Namespace "$cu")" "uts,user" "$how as $u: Namespace"
				eq "$(q UserId "$cu")" "$u" "$how as $u: UserId"
				# every capability, in the namespace it made (none
				# where AppArmor restricts unprivileged user
				# namespaces, as Ubuntu's kernels do)
				case $(q CapEffective "$cu") in
				'') fail "$how as $u: no CapEffective" ;;
				0000000000000000)
					[ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ] ||
						fail "$how as $u: CapEffective 0 in the user namespace it made"
					echo "note: AppArmor leaves a user's new user namespace no capability here" ;;
				esac
				ca="rule_id = '$(sed -n 's/^id: //p' "$YM_SRC/rules/linux/privilege_change/user_namespace_by_unprivileged_user.yml")' AND event LIKE '%\"ProcessId\":\"$up\"%'"
				wait_alert "$ca" "no alert of user_namespace_by_unprivileged_user ($how)"
			fi
			[ "$how" = unshare ] && [ "$u" = 0 ] &&
				eq "$(q SyscallArg0 "$cu")" "$((0x04000000))" "unshare: SyscallArg0"
			[ "$how" = clone ] && eq "$(q TargetProcessId "$cu")" "$uc" "clone as $u: TargetProcessId"
			eq "$(q Image "$cu")" "$helper" "$how as $u: Image"
			eq "$(db "SELECT count(*) FROM events WHERE category = 10 AND json_extract(fields, '\$.ProcessId') = '$up' AND json_extract(fields, '\$.Syscall') IN ('unshare', 'clone')")" 1 \
				"$how as $u: events (one without a namespace reported?)"
			ok "$how as uid $u: the namespaces made"
		done
	done
fi

# a process that switches user: its later events (a connection, its
# termination) name the new user, from the uid change the sensor saw (bpf:
# the privilege_change record; netlink: the proc connector's uid message);
# in bpf mode its listen before the switch names root
if grep -q "network sensor: bpf" "$LAB_DIR/agent.log"; then
	nobody=$(id -u nobody)
	out=$("$helper" setuid-connect "$nobody") || fail "setuid-connect helper"
	read -r _ hp _ port <<<"$out"
	N="category = 3 AND json_extract(fields, '\$.ProcessId') = '$hp'"
	c12="$N AND json_extract(fields, '\$.Action') = 'connect' AND json_extract(fields, '\$.DestinationPort') = '$port'"
	wait_ev "$c12"
	eq "$(q UserId "$c12")" "$nobody" "connect after setuid: UserId"
	eq "$(q User "$c12")" "nobody" "connect after setuid: User"
	eq "$(q Image "$c12")" "$helper" "connect after setuid: Image"
	# (the netlink mode reads the process's user from /proc after its exec
	# message: by then it may have switched, docs/sensors.md)
	if [ "$MODE" = bpf ]; then
		c13="$N AND json_extract(fields, '\$.Action') = 'listen'"
		wait_ev "$c13"
		eq "$(q UserId "$c13")" "0" "listen before setuid: UserId"
		eq "$(q User "$c13")" "root" "listen before setuid: User"
	fi
	c14="category = 2 AND json_extract(fields, '\$.ProcessId') = '$hp'"
	wait_ev "$c14"
	eq "$(q UserId "$c14")" "$nobody" "termination after setuid: UserId"
	ok "user of a process's network events and termination follows its setuid"
fi

# a process that connects and exits at once, and one that connects and
# then execs another program: its connection names the program that made
# it. Their records come in two rings, the process one read first: the
# exit (or the exec) is read before the connection, whose time then says
# the process was still there (or still ran the program before the exec).
# Five of each: before, the first lost its Image every time, the second
# was named after the new program 22 times in 30. bpf only: the netlink
# mode reads a process from /proc when its fork and exec messages are read,
# and one gone by then is not in the table at all (docs/sensors.md).
if [ "$MODE" = bpf ] && grep -q "network sensor: bpf" "$LAB_DIR/agent.log"; then
	for i in 1 2 3 4 5; do
		for act in connect-exit connect-exec; do
			out=$("$helper" "$act" /bin/true) || fail "$act helper"
			read -r _ hp _ port <<<"$out"
			c15="category = 3 AND json_extract(fields, '\$.ProcessId') = '$hp' AND json_extract(fields, '\$.Action') = 'connect' AND json_extract(fields, '\$.DestinationPort') = '$port'"
			wait_ev "$c15"
			eq "$(q Image "$c15")" "$helper" "$act $i: the connection's Image"
			[ -n "$(q ProcessGuid "$c15")" ] || fail "$act $i: no ProcessGuid"
		done
	done
	ok "a connection names its program when the process exits or execs at once"
fi

# the netlink mode's capture thread runs at real-time priority; where the
# kernel schedules real-time tasks per v1 cpu cgroup, the agent's own group
# must have been given runtime (agent/bounds.c), or SCHED_FIFO is refused
if [ "$MODE" = netlink ] && [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
	if grep -q W3606 "$LAB_DIR/agent.log"; then
		fail "no real-time priority for the capture thread: $(grep W3606 "$LAB_DIR/agent.log" | tail -n 1)"
	fi
	ok "capture thread at real-time priority (real-time group scheduling)"
fi

# A user's FUSE file system that never answers the agent (ym-fuse-hold
# answers only the process it runs, as a daemon that reads the requests'
# pids can): the agent's open (bpf) or open and stat (netlink) of that
# program's file would wait until the daemon ends. The exec is reported
# without a hash, and an exec after it is reported while the daemon still
# holds the agent's call: the collector waited for it a bounded time
# (agent/fsjob.c). The program lives 30 s; the events must come in 10.
# ym-fuse-hold DIR SRC SECONDS MARKER in the background (fhdir, fhpid; its
# program's pid in fp), waited for until its output has a line LINE ...
fh_start() { # SRC SECONDS MARKER LINE
	fhdir=$(mktemp -d /tmp/ym-fuse.XXXXXX)
	"$LAB_BIN/ym-fuse-hold" "$fhdir" "$1" "$2" "$3" >"$fhdir.out" 2>&1 &
	fhpid=$!
	for _ in $(seq 1 50); do
		grep -q "^$4 " "$fhdir.out" && break
		sleep 0.1
	done
	fp=$(sed -n 's/^pid //p' "$fhdir.out")
	[ -n "$fp" ] || fail "ym-fuse-hold did not start: $(cat "$fhdir.out")"
	t0=$(date +%s)
}
# an exec after the held call is reported while the hold lasts (WHAT: the
# step's name in failures)
fh_next_exec() { # WHAT
	( exec /bin/sh -c ": ymafter$$ $1" ) &
	ap=$!
	wait "$ap"
	wait_ev "$P1 AND json_extract(fields, '\$.ProcessId') = '$ap'"
	[ $(($(date +%s) - t0)) -lt 25 ] || fail "$1: the events came after the hold"
	kill -0 "$fp" 2>/dev/null || fail "$1: the program ended before the check"
}
fh_stop() {
	kill "$fp"
	wait "$fhpid"
	fhpid=""
	rm -rf "$fhdir" "$fhdir.out"
	fhdir=""
}
if [ -c /dev/fuse ] && grep -qw fuse /proc/filesystems; then
	fmark="ymfuse$$"
	fh_start /bin/sleep 30 "$fmark" pid
	cf="$P1 AND json_extract(fields, '\$.ProcessId') = '$fp'"
	wait_ev "$cf"
	eq "$(q Image "$cf")" "$fhdir/prog" "held file system: Image"
	eq "$(q CommandLine "$cf")" "$fmark 30" "held file system: CommandLine"
	eq "$(q Hashes "$cf")" "" "held file system: no Hashes"
	fh_next_exec "held file system"
	grep -q W3801 "$LAB_DIR/agent.log" || fail "held file system: no W3801 in the agent's log"
	fh_stop
	ok "a file system holding the agent's calls holds neither the exec's event nor the next"

	# bpf: a process that maps a file of such a file system over its
	# arguments, then ptrace-seizes a CLONE_VM child (in no process table:
	# the agent reads the target's /proc/PID/cmdline, which is that
	# memory): the ptrace event comes, named, and the next exec too, while
	# the daemon holds every reader but its program (the kernel reads
	# cmdline with FOLL_ANON, which does not fault a file mapping in;
	# process_vm_readv of that page would wait)
	if [ "$MODE" = bpf ]; then
		fh_start "$helper" 30 ptrace-fuse vm
		vp=$(sed -n 's/^vm //p' "$fhdir.out")
		[ -n "$vp" ] || fail "ptrace-fuse did not start: $(cat "$fhdir.out")"
		cm="category = 9 AND json_extract(fields, '\$.SourceProcessId') = '$fp'"
		wait_ev "$cm"
		eq "$(q TargetProcessId "$cm")" "$vp" "held command line: TargetProcessId"
		eq "$(q TargetImage "$cm")" "$fhdir/prog" "held command line: TargetImage"
		eq "$(q GrantedAccess "$cm")" "PTRACE_SEIZE" "held command line: GrantedAccess"
		fh_next_exec "held command line"
		kill -9 "$vp" 2>/dev/null
		fh_stop
		ok "a process's arguments mapped from a file system that does not answer hold neither its ptrace event nor the next exec"
	fi
fi

# the started status names the mode
eq "$(db "SELECT json_extract(fields, '\$.ProcessSensor') FROM events WHERE category = 7 AND json_extract(fields, '\$.Status') = 'started'")" "$MODE" ProcessSensor
ok "agent_status started: ProcessSensor=$MODE"
# and whether 32-bit system calls can be made here (x86-64): what a
# child's int 0x80 getpid says
if [ "$(uname -m)" = x86_64 ]; then
	ia=off
	"$helper" setuid-int80 "$(id -u)" >/dev/null 2>&1 && ia=on
	eq "$(db "SELECT json_extract(fields, '\$.Ia32Emulation') FROM events WHERE category = 7 AND json_extract(fields, '\$.Status') = 'started'")" "$ia" Ia32Emulation
	ok "agent_status started: Ia32Emulation=$ia"
fi
rm -rf "$wd"
echo "PASS: process family, mode $MODE"
