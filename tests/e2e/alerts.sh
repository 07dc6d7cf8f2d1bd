#!/usr/bin/env bash
# Commands run on the endpoint must arrive as alerts with the exact rule ids,
# the right host and agent, within a bounded wait (10 s). The latency is
# printed (measured, not asserted); bench/e2e measures it over 1,000 runs.
# Benign commands must raise none of these rules.
TEST_NAME=alerts
. "$(dirname "$0")/common.sh"

LAB_HOST=e2e-host-$$
# The commands below come in one burst. At its default budget (25 % of a
# core) an agent of the sanitizer preset, several times slower, can be
# over it for a moment and shed file events first (counted, W3607: seen
# in .ci/run on 2026-11-28, the /etc/shadow read shed): shedding is
# e2e_overload's subject, not this test's, so the agent here may use a core
LAB_AGENT_ARGS=(--cpu-max-pct 100)
lab_start || fail "lab did not start"
work=$(mktemp -d /tmp/.ym-e2e-hidden.XXXXXX)
etcf=/etc/ym-e2e-mount-$$
logf=/var/log/ym-e2e-$$.log
trap 'umount "$etcf" 2>/dev/null; rm -rf "$work" "$etcf" "$logf"; e2e_cleanup' EXIT

# benign activity first: none of the rules below may fire on it
ls / >/dev/null
cat /etc/hostname >/dev/null
bash -c 'echo hello | cat' >/dev/null
uname -r >/dev/null

# command -> rule file that must fire
declare -A expect=(
	[recon_whoami_id]="whoami"
	[recon_uname_all]="uname -a"
	[recon_read_passwd]="cat /etc/passwd"
	[recon_ps_process_list]="ps aux"
	[reverse_shell_dev_tcp]="timeout 3 bash -c 'bash -i >& /dev/tcp/127.0.0.1/9 0>&1'"
	[exec_from_hidden_tmp_folder]="cp /usr/bin/true $work/.x && $work/.x"
	[base64_decode_piped_to_shell]="bash -c 'echo ZWNobyBoaQo= | base64 -d | sh'"
	# a shell whose stdin is a TCP connection (a reverse shell's shape,
	# set up by a script's dup2: the process sensor, bpf)
	[shell_with_network_stdio]="python3 -c 'import socket,os;l=socket.create_server((\"127.0.0.1\",0));s=socket.create_connection(l.getsockname());[os.dup2(s.fileno(),f) for f in (0,1,2)];os.execv(\"/bin/sh\",[\"sh\",\"-c\",\"exit 0\"])'"
	# its "upgrade": the same connection, then python's pty.spawn of a
	# shell on a new terminal (the shell's parent has the connection)
	[shell_on_terminal_from_network_stdio]="python3 -c 'import socket,os,pty;l=socket.create_server((\"127.0.0.1\",0));s=socket.create_connection(l.getsockname());[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn([\"/bin/sh\",\"-c\",\"exit 0\"])'"
	# mounts (the file family, bpf): a file bound over a watched one on
	# the host, then undone; in a mount namespace of its own (gone with
	# it), a folder over the shell's own /proc/PID and a file system
	# from a device path
	[mount_over_watched_path]="touch $etcf $work/.src && mount --bind $work/.src $etcf && umount $etcf"
	[process_hidden_by_proc_mount]="unshare -m bash -c 'mount --make-rprivate / && mount --bind $work /proc/\$\$'"
	[device_mounted_in_container]="unshare -m bash -c 'mount --make-rprivate / && mkdir -p $work/m && mount -t tmpfs /dev/ym-e2e-disk $work/m'"
	# a log emptied by a shell's redirection, then deleted (the file
	# family's "d:/var/log/": bpf sees both, fanotify the delete)
	[log_file_erased]="printf 'sshd: accepted\\n' >$logf && : >$logf && rm -f $logf"
	# the password hashes read by a script, by a relative path (the file
	# family's "r:/etc/shadow": bpf)
	[shadow_file_read]="cd /etc && python3 -c 'open(\"shadow\").read()'"
)
# what only the eBPF modes see (docs/sensors.md): not expected of another
grep -q "sensor process=bpf" "$LAB_DIR/agent.log" ||
	unset 'expect[shell_with_network_stdio]' 'expect[shell_on_terminal_from_network_stdio]'
if ! grep -q "file=bpf" "$LAB_DIR/agent.log"; then
	unset 'expect[mount_over_watched_path]' 'expect[process_hidden_by_proc_mount]'
	unset 'expect[device_mounted_in_container]' 'expect[shadow_file_read]'
fi
for f in "${!expect[@]}"; do
	bash -c "${expect[$f]}" >/dev/null 2>&1
done
for f in "${!expect[@]}"; do
	id=$(rule_id "$f")
	[ -n "$id" ] || fail "rule file $f.yml has no id"
	ms=$(wait_alert "$id" 10) || fail "no alert for $f ($id) within 10 s after: ${expect[$f]}"
	ok "alert $f ($id) after ${ms} ms of waiting"
done

# four different discovery tools by one user within two minutes: the
# correlation rule fires in the server (windows kept per tenant)
id=$(rule_id recon_burst_by_user)
ms=$(wait_alert "$id" 10) || fail "no correlation alert recon_burst_by_user ($id)"
ok "correlation alert recon_burst_by_user ($id) after ${ms} ms of waiting"

# the alerts carry the right host, agent and tenant, and the triggering process
out=$(api GET "/api/v1/alerts?limit=1000")
id=$(rule_id recon_whoami_id)
python3 - "$out" "$id" "$LAB_HOST" "$LAB_AGENT_ID" <<'PY' || fail "alert content"
import json, sys
alerts = json.loads(sys.argv[1])["alerts"]
a = [x for x in alerts if x["rule_id"] == sys.argv[2]]
assert a, "no whoami alert"
a = a[0]
assert a["host"] == sys.argv[3], a["host"]
assert a["agent_id"] == sys.argv[4], a["agent_id"]
assert a["event"]["Image"].endswith("/whoami"), a["event"]
assert any(t.startswith("attack.t1033") for t in a["tags"]), a["tags"]
assert a["level"] in ("low", "medium", "high", "critical")
PY
ok "alert carries host $LAB_HOST, agent, process and ATT&CK tags"

# the agent's sensor modes and drop totals show in `yamori agents`
out=$(ym agents)
echo "$out"
grep -Eq "sensors: .*process=(bpf|netlink)" <<<"$out" || fail "yamori agents shows no process sensor mode"
grep -Eq "dropped: " <<<"$out" || fail "yamori agents shows no drop line"
ok "yamori agents shows the sensor mode of each family and the drops"

# nothing fired on the benign commands
benign=$(db "SELECT count(*) FROM alerts WHERE event LIKE '%cat /etc/hostname%' OR event LIKE '%uname -r%' OR event LIKE '%echo hello%'")
[ "$benign" -eq 0 ] || fail "$benign alerts on benign commands"
ok "no alert on benign commands"

# end-to-end latency of these alerts: event time on the endpoint -> alert stored
db "SELECT (a.created_ns - e.ts_ns) / 1000000 FROM alerts a JOIN events e ON e.agent_id = a.agent_id AND e.seq = a.event_seq ORDER BY 1" |
	awk '{v[NR]=$1} END {if (NR) printf "latency exec->alert stored: n=%d min=%d ms median=%d ms max=%d ms\n", NR, v[1], v[int((NR+1)/2)], v[NR]}'
echo "alerts: passed"
