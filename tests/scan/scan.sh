#!/usr/bin/env bash
# `yamori scan` and `yamori intel check` on the files in data/: exit codes,
# diagnostics with file:line, rule and IoC matches on syslog, NDJSON and
# Windows-shaped records, the NDJSON envelope and flattening. With the
# shared data present, also SigmaHQ's regression events (as NDJSON) against
# SigmaHQ's Windows rules, and its Linux keyword rules on syslog.
set -u
D=$(cd "$(dirname "$0")" && pwd)/data
Y="$LAB_BIN/yamori"
T=$(mktemp -d /tmp/ym-scan.XXXXXX)
trap 'rm -rf "$T"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
ok() { echo "ok: $*"; }

# expect_rc RC CMD...: runs CMD, stdout to $T/out, stderr to $T/err
expect_rc() {
	local want=$1 got
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" -eq "$want" ] || { fail "exit $got, not $want: $*"; cat "$T/err"; return 1; }
}

# usage errors
expect_rc 2 "$Y" scan --rules "$D/rules" && ok "no file: 2"
expect_rc 2 "$Y" scan "$D/auth.log" && ok "no rules and no intel: 2"
expect_rc 2 "$Y" scan --rules "$D/rules" --logsource product "$D/auth.log" && ok "bad --logsource: 2"
expect_rc 2 "$Y" scan --rules "$D/rules" --logsource colour=red "$D/auth.log" && ok "unknown --logsource key: 2"
expect_rc 2 "$Y" scan --rules "$D/rules" --format csv "$D/auth.log" && ok "bad --format: 2"
expect_rc 2 "$Y" intel && ok "intel without check: 2"

# the main scan: both files, rules and IoCs; one missing file
expect_rc 1 "$Y" scan --rules "$D/rules" --intel "$D/iocs.txt" "$D/auth.log" "$T/missing.log" \
	"$D/events.ndjson" && ok "unreadable input: 1, the others scanned"
cp "$T/out" "$T/main.json"
cp "$T/err" "$T/main.err"
grep -q "missing.log: cannot read: No such file or directory" "$T/main.err" || fail "missing file not named"
grep -q "auth.log:4: no syslog time stamp" "$T/main.err" || fail "malformed syslog line not reported"
grep -q "events.ndjson:4: not JSON" "$T/main.err" || fail "malformed NDJSON line not reported"
grep -q "events.ndjson:5: not a JSON object" "$T/main.err" || fail "non-object not reported"
grep -q "events.ndjson:7: 'ts' is not an RFC 3339 time" "$T/main.err" || fail "bad ts not reported"
grep -q "iocs.txt:6: not a recognised indicator" "$T/main.err" || fail "bad IoC line not reported"
grep -q "intel: 4 loaded, 1 rejected" "$T/main.err" || fail "intel summary"
grep -q "scan: 3 files, 11 events, .* 4 malformed" "$T/main.err" || { fail "scan summary"; cat "$T/main.err"; }
ok "diagnostics name file:line and the scan goes on"

python3 - "$T/main.json" "$D" <<'PY' || fail "match lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
d = sys.argv[2]
def find(fname, line, rule):
    return [x for x in lines if x["file"].endswith(fname) and x["line"] == line and x["rule_id"] == rule]
for x in lines:
    for k in ("rule_id", "title", "level", "file", "line", "tags", "event", "logsource"):
        assert k in x, (k, x)
# syslog: service from the program name routes the service rules
m = find("auth.log", 2, "5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e01")
assert len(m) == 1, m
assert m[0]["logsource"] == {"product": "linux", "category": "", "service": "sshd"}, m[0]
assert m[0]["event"]["HOSTNAME"] == "web1" and m[0]["event"]["APP"] == "sshd"
assert m[0]["event"]["PID"] == "1250" and m[0]["event"]["MESSAGE"] == "error: Corrupted MAC on input."
assert m[0]["host"] == "web1"
m = find("auth.log", 6, "5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e01")
assert len(m) == 1 and m[0]["event"]["FACILITY"] == "auth" and m[0]["event"]["SEVERITY"] == "info", m
assert m[0]["event"]["SD"] == '[origin ip="192.0.2.1"]', m[0]["event"]
assert m[0]["ts_ns"] == 1795654560123456000, m[0]["ts_ns"]
m = find("auth.log", 3, "5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e02")
assert len(m) == 1 and m[0]["logsource"]["service"] == "sudo", m
# a service rule never fires on another service's line
assert not [x for x in lines if x["file"].endswith("auth.log") and x["line"] in (1, 5, 7, 9)
            and x["rule_id"].startswith("5b0e7d0a")], "service routing"
# NDJSON: envelope and flattening
m = find("events.ndjson", 1, "5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e03")
assert len(m) == 1, m
e = m[0]["event"]
assert e["nested.a.b"] == "true" and e["nested.list.0"] == "1" and e["nested.list.1"] == "two"
assert e["nested.list.2"] == "" and e["nested.x"] == "1.5" and e["ProcessId"] == "4242", e
assert "product" not in e and "ts" not in e and "host" not in e, e
assert m[0]["host"] == "h1" and m[0]["ts_ns"] == 1795654800000000000, m[0]
assert m[0]["logsource"] == {"product": "linux", "category": "process_creation", "service": ""}
# Windows-shaped record: Sigma names, logsource from Channel and EventID
m = find("events.ndjson", 6, "5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e04")
assert len(m) == 1, m
assert m[0]["logsource"] == {"product": "windows", "category": "process_creation", "service": "sysmon"}, m[0]
assert m[0]["event"]["Provider_Name"] == "Microsoft-Windows-Sysmon" and m[0]["host"] == "win1", m[0]
# IoCs
want = {("events.ndjson", 1, "intel:sha256", "Hashes", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("events.ndjson", 2, "intel:ip", "DestinationIp", "203.0.113.0/24"),
        ("events.ndjson", 3, "intel:domain", "QueryName", "evil.example.com"),
        ("events.ndjson", 6, "intel:sha256", "Hashes", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752")}
got = {(x["file"].rsplit("/", 1)[1], x["line"], x["rule_id"], x["intel"]["field"], x["intel"]["indicator"])
       for x in lines if "intel" in x}
assert got == want, got
for x in lines:
    if "intel" in x:
        k = x["intel"]["kind"]
        assert x["title"] == "IoC match: %s %s" % (k, x["intel"]["indicator"]), x["title"]
        assert x["level"] == "high"
        assert x["tags"] == (["attack.execution"] if k == "sha256" else ["attack.command-and-control"])
        assert x["intel"]["source"] == "iocs.txt"
m = [x for x in lines if x.get("intel", {}).get("kind") == "domain"][0]
assert m["intel"]["description"] == "C2" and m["intel"]["value"] == "cdn.evil.example.com"
print("match lines: %d checked" % len(lines))
PY
ok "rule and IoC matches on syslog, NDJSON and Windows records"

# --logsource for the whole file, and --format
expect_rc 0 "$Y" scan --rules "$D/rules" --logsource product=linux,service=sshd --format syslog "$D/auth.log"
[ "$(grep -c '"rule_id":"5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e01"' "$T/out")" -eq 2 ] || fail "--logsource service"
grep -q '"rule_id":"5b0e7d0a-3a51-4c4e-9d3e-7a1f2c3d4e02"' "$T/out" && fail "--logsource did not override the derived service"
ok "--logsource sets the service of every line"
expect_rc 0 "$Y" scan --rules "$D/rules" --format ndjson "$D/auth.log"
[ "$(grep -c 'not JSON' "$T/err")" -eq 8 ] || fail "--format ndjson on syslog: every line malformed"
ok "--format forces the reader"

# EVTX: a file that is not one, and a broken one, are unreadable input
printf 'ElfFile\0garbage' >"$T/bad.evtx"
expect_rc 1 "$Y" scan --rules "$D/rules" "$T/bad.evtx" && ok "broken EVTX: 1"
grep -q "bad.evtx: cannot read" "$T/err" || fail "broken EVTX not named"
expect_rc 1 "$Y" scan --rules "$D/rules" --format evtx "$D/auth.log" && ok "not EVTX: 1"

# correlation: one user's burst of discovery tools in a log dump fires the
# pack's correlation rule once, on the event that completes it
root=$(cd "$D/../../.." && pwd)
for i in 1 2 3 4 5; do
	set -- /usr/bin/whoami:whoami /usr/bin/id:id /usr/bin/uname:"uname -a" /usr/bin/cat:"cat /etc/passwd" /usr/bin/ps:"ps aux"
	eval "e=\${$i}"
	printf '{"category":"process_creation","product":"linux","ts":%d,"Image":"%s","CommandLine":"%s","User":"alice"}\n' \
		$((1764120000 + i)) "${e%%:*}" "${e#*:}"
done >"$T/recon.ndjson"
expect_rc 0 "$Y" scan --rules "$root/rules" "$T/recon.ndjson"
n=$(grep -c '"title":"Burst of discovery commands by one user"' "$T/out")
[ "$n" -eq 1 ] || fail "correlation rule fired $n times, not once"
grep '"title":"Burst of discovery' "$T/out" | grep -q '"line":4' || fail "correlation not on line 4"
ok "correlation rule fires once in a scan, on the event that completes it"

# intel check
expect_rc 1 "$Y" intel check "$D/iocs.txt"
grep -qx "intel: 4 loaded, 1 rejected" "$T/out" || fail "intel check summary"
grep -q "^.*iocs.txt:6: not a recognised indicator" "$T/out" || fail "intel check diagnostic"
grep -q "intel: 4 distinct" "$T/out" || fail "intel check distinct"
head -n 4 "$D/iocs.txt" >"$T/good.txt"
expect_rc 0 "$Y" intel check "$T/good.txt" && ok "intel check: 0 when clean, 1 with rejects"
expect_rc 1 "$Y" intel check "$T/nope.txt" && ok "intel check unreadable: 1"

# SigmaHQ (shared data): regression events and Linux keyword rules
S=${YM_SHARED:-}
if [ -n "$S" ] && [ -d "$S/sigma/regression_data" ]; then
	python3 - "$S/sigma/regression_data" "$T/regr.ndjson" "$T/regr.ids" <<'PY'
import glob, json, os, re, sys
dec = json.JSONDecoder()
out, ids = open(sys.argv[2], "w"), open(sys.argv[3], "w")
for f in sorted(glob.glob(sys.argv[1] + "/**/*.json", recursive=True)):
    want = re.findall(r"^\s+- id: (\S+)", open(os.path.join(os.path.dirname(f), "info.yml")).read(), re.M)
    s, i = open(f).read(), 0
    while True:
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            break
        o, i = dec.raw_decode(s, i)
        out.write(json.dumps(o, separators=(",", ":")) + "\n")
        ids.write(" ".join(want) + "\n")
PY
	expect_rc 0 "$Y" scan --rules "$S/sigma/rules/windows" --rules "$S/sigma/rules-emerging-threats" \
		--rules "$S/sigma/rules-threat-hunting" "$T/regr.ndjson"
	python3 - "$T/out" "$T/regr.ids" <<'PY' || fail "SigmaHQ regression events through NDJSON"
import json, sys
got = {}
for l in open(sys.argv[1]):
    x = json.loads(l)
    got.setdefault(x["line"], set()).add(x["rule_id"])
want = [set(l.split()) for l in open(sys.argv[2])]
hit = sum(1 for n, w in enumerate(want, 1) if w & got.get(n, set()))
print("SigmaHQ regression events detected by their rule: %d of %d" % (hit, len(want)))
assert hit >= 220, hit  # 224 measured on 2026-11-26
PY
	expect_rc 0 "$Y" scan --rules "$S/sigma/rules/linux" "$D/auth.log"
	grep -q '"rule_id":"e76b413a-83d0-4b94-8e4c-85db4a5b8bdc","title":"Suspicious OpenSSH Daemon Error"' "$T/out" ||
		fail "SigmaHQ sshd keyword rule on syslog"
	grep -q '"line":5,"rule_id":"738d9bcf-6999-4fdb-b4ac-3033037db8ab"' "$T/out" ||
		fail "SigmaHQ reverse shell keywords on a cron line"
	ok "SigmaHQ rules on NDJSON regression events and on syslog"
else
	echo "note: shared data absent: SigmaHQ parts skipped"
fi

if [ "$failed" -ne 0 ]; then
	echo "scan: failed"
	exit 1
fi
echo "scan: passed"
