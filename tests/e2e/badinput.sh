#!/usr/bin/env bash
# Bad input of every kind gets a clear error and a log line with a stable id;
# the server keeps serving and loses nothing it had accepted: a malformed
# batch, no client certificate, a certificate from another CA, a wrong
# enrolment token, an oversized request, a bad API token, malformed JSON, and
# a broken rule file (at server start and in `yamori rules check`).
TEST_NAME=badinput
. "$(dirname "$0")/common.sh"

# rules: ours plus one broken file
mkdir -p "$LAB_DIR/rules"
cp -r "$YM_SRC/rules/." "$LAB_DIR/rules/"
printf 'title: broken\nid: 1\ndetection:\n  sel:\n    Image|endswith: [unclosed\n  condition: sel\n' >"$LAB_DIR/rules/broken.yml"
LAB_RULES="$LAB_DIR/rules"
lab_start || fail "lab did not start"
grep -q "broken.yml" "$LAB_DIR/server.log" || fail "server did not name the broken rule file"
grep -Eq "rules: [1-9][0-9]* loaded, [0-9]+ unsupported, 1 errors" "$LAB_DIR/server.log" || fail "server did not load the other rules"
ok "server started with a broken rule file: named it, loaded the rest"

out=$("$LAB_BIN/yamori" rules check "$LAB_DIR/rules") && fail "rules check passed a broken rule"
grep -Eq "broken.yml:[0-9]+: error: " <<<"$out" || fail "rules check did not give file:line: $out"
tail -n 1 <<<"$out" | grep -Eq '^rules: [0-9]+ loaded, [0-9]+ unsupported, 1 errors$' || fail "rules check summary: $(tail -n 1 <<<"$out")"
ok "rules check: $(grep broken.yml <<<"$out" | head -n 1)"

# something accepted before the bad input
whoami >/dev/null
wait_alert "$(rule_id recon_whoami_id)" 10 >/dev/null || fail "no alert before the bad input"
before=$(db "SELECT count(*) FROM events")
alerts_before=$(db "SELECT count(*) FROM alerts")

A=(--cacert "$LAB_CA" --cert "$LAB_DIR/agent/agent.crt" --key "$LAB_DIR/agent/agent.key")
code() { curl -s -o "$LAB_DIR/body" -w '%{http_code}' "$@"; }
expect() { # what want-code log-id curl-args...
	local what=$1 want=$2 id=$3 got
	shift 3
	got=$(code "$@")
	[ "$got" = "$want" ] || fail "$what: HTTP $got, expected $want ($(cat "$LAB_DIR/body" 2>/dev/null))"
	grep -q '"error"' "$LAB_DIR/body" || fail "$what: no JSON error in the answer"
	if [ -n "$id" ]; then
		lab_wait_log "$LAB_DIR/server.log" 5 "$id" || fail "$what: no $id log line"
	fi
	ok "$what -> $got $(cat "$LAB_DIR/body")"
}

printf 'YMB1\0\0\0\0\0\1garbage' >"$LAB_DIR/bad.ymb"
expect "malformed batch" 400 E2001 "${A[@]}" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$LAB_DIR/bad.ymb" "$LAB_URL/agent/v1/events"
expect "batch without a client certificate" 401 E2002 --cacert "$LAB_CA" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$LAB_DIR/bad.ymb" "$LAB_URL/agent/v1/events"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=$LAB_AGENT_ID" -keyout "$LAB_DIR/rogue.key" -out "$LAB_DIR/rogue.crt" 2>/dev/null
got=$(code --cacert "$LAB_CA" --cert "$LAB_DIR/rogue.crt" --key "$LAB_DIR/rogue.key" \
	-H 'Content-Type: application/octet-stream' --data-binary @"$LAB_DIR/bad.ymb" "$LAB_URL/agent/v1/events")
[ "$got" = 401 ] || [ "$got" = 000 ] || fail "certificate from another CA with the agent's CN: HTTP $got"
ok "certificate from another CA claiming the agent's id -> $got (refused)"

expect "wrong enrolment token" 401 E2003 --cacert "$LAB_CA" -H 'Content-Type: application/json' \
	--data "{\"token\":\"$(openssl rand -hex 32)\",\"hostname\":\"x\",\"csr\":\"x\",\"os\":\"linux\",\"agent_version\":\"0\"}" \
	"$LAB_URL/agent/v1/enrol"
head -c $((9 * 1024 * 1024)) /dev/zero >"$LAB_DIR/big"
expect "oversized batch" 413 E2004 "${A[@]}" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$LAB_DIR/big" "$LAB_URL/agent/v1/events"
expect "bad API token" 401 E2005 --cacert "$LAB_CA" -H "Authorization: Bearer $(openssl rand -hex 32)" \
	"$LAB_URL/api/v1/alerts"
expect "malformed JSON" 400 E2006 --cacert "$LAB_CA" -H "Authorization: Bearer $LAB_TOKEN" \
	-H 'Content-Type: application/json' --data '{"type":"kill","agent_id":' "$LAB_URL/api/v1/actions"

# still serving, nothing lost, new events still flowing and detected
kill -0 "$LAB_SERVER_PID" || fail "server died"
after=$(db "SELECT count(*) FROM events")
[ "$after" -ge "$before" ] || fail "events lost: $before before, $after after"
[ "$(db "SELECT count(*) FROM alerts")" -ge "$alerts_before" ] || fail "alerts lost"
uname -a >/dev/null
wait_alert "$(rule_id recon_uname_all)" 10 >/dev/null || fail "no new alert after the bad input"
ok "server still serving: $before events before, $after after, new alerts still raised"
echo "badinput: passed"
