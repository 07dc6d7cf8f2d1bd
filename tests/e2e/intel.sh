#!/usr/bin/env bash
# IoC matching on ingest: the server loads an IoC list (--intel) holding the
# SHA-256 of a binary; running that binary on the endpoint must raise an
# alert "intel:sha256" with the IoC title, level high and the event's
# Hashes. A second binary's hash, added to the list and loaded with SIGHUP,
# must alert too; a binary whose hash is in no list must not.
# Registered by tests/scan/CMakeLists.txt (the lead owns the other e2e tests).
TEST_NAME=intel
LAB_HOST=e2e-intel-$$
. "$(dirname "$0")/common.sh"

work=$(mktemp -d /tmp/ym-e2e-intel-bin.XXXXXX)
trap 'rm -rf "$work"; e2e_cleanup' EXIT
iocs="$work/iocs.txt"

# Unique binaries: sleep with random bytes appended (ELF ignores them).
for n in one two three; do
	cp /usr/bin/sleep "$work/ioc-$n"
	head -c 64 /dev/urandom >>"$work/ioc-$n"
done
sha256sum "$work/ioc-one" >"$iocs"
echo "not-an-indicator" >>"$iocs"
h1=$(cut -d' ' -f1 <"$iocs" | head -n 1)
h2=$(sha256sum "$work/ioc-two" | cut -d' ' -f1)
h3=$(sha256sum "$work/ioc-three" | cut -d' ' -f1)

# the lab's server, with the IoC list
LAB_SERVER_ARGS=(--intel "$iocs" --log-level info)

lab_start || fail "lab did not start"
grep -q "intel: 1 loaded, 1 rejected, 1 distinct" "$LAB_DIR/server.log" ||
	fail "server did not report the IoC load"
grep -q "W2601 IoC line rejected .*iocs.txt:2: " "$LAB_DIR/server.log" ||
	fail "server did not report the bad IoC line"
ok "server loaded 1 IoC and reported the bad line"

# wait_ioc HASH SECONDS: an alert intel:sha256 titled with HASH
wait_ioc() {
	local h=$1 t=$2 i
	for i in $(seq 1 $((t * 10))); do
		api GET "/api/v1/alerts?limit=1000" | grep -q "IoC match: sha256 $h" && return 0
		sleep 0.1
	done
	return 1
}

"$work/ioc-one" 1
"$work/ioc-three" 1
wait_ioc "$h1" 15 || fail "no IoC alert for the listed binary"
ok "IoC alert for $work/ioc-one"

out=$(api GET "/api/v1/alerts?limit=1000")
python3 - "$out" "$h1" "$LAB_HOST" <<'PY' || fail "IoC alert content"
import json, sys
alerts = json.loads(sys.argv[1])["alerts"]
a = [x for x in alerts if x["rule_id"] == "intel:sha256" and sys.argv[2] in x["title"]]
assert len(a) == 1, a
a = a[0]
assert a["title"] == "IoC match: sha256 " + sys.argv[2], a["title"]
assert a["level"] == "high", a["level"]
assert a["tags"] == ["attack.execution"], a["tags"]
assert a["event"]["Image"].endswith("/ioc-one"), a["event"]
assert a["event"]["Hashes"].lower() == "sha256=" + sys.argv[2], a["event"]["Hashes"]
PY
ok "alert has rule intel:sha256, level high, ATT&CK tag, the process and its hash"

# reload: a second hash appears on SIGHUP
echo "$h2 second" >>"$iocs"
kill -HUP "$LAB_SERVER_PID"
lab_wait_log "$LAB_DIR/server.log" 20 "intel: 2 loaded, 1 rejected, 2 distinct (reloaded)" ||
	fail "no IoC reload"
"$work/ioc-two" 1
wait_ioc "$h2" 15 || fail "no IoC alert after the reload"
ok "IoC added by SIGHUP alerts"
[ "$(db "SELECT count(*) FROM audit WHERE action = 'intel.reload'")" -ge 1 ] ||
	fail "reload not audited"
ok "reload audited"

# the unlisted binary ran too (before the reload): no IoC alert for it
if api GET "/api/v1/alerts?limit=1000" | grep -q "$h3"; then
	fail "alert for a binary in no list"
fi
ok "no IoC alert for an unlisted binary"
echo "intel: passed"
