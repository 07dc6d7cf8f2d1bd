# Shared set-up for the end-to-end tests: root check, a lab in a temp dir,
# clean-up on exit, and assertion helpers. Source after setting TEST_NAME.
set -u
. "$YM_SRC/scripts/lab.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $TEST_NAME needs root (the agent's netlink proc connector needs CAP_NET_ADMIN)"
	exit 77
fi
for b in yamori-server yamori-agent yamori; do
	[ -x "$LAB_BIN/$b" ] || { echo "FAIL: $LAB_BIN/$b not built"; exit 1; }
done

LAB_DIR=$(mktemp -d /tmp/ym-e2e-$TEST_NAME.XXXXXX)
export LAB_DIR
e2e_failed=0

e2e_cleanup() {
	lab_stop
	[ -n "${e2e_extra_pids:-}" ] && kill $e2e_extra_pids 2>/dev/null
	if [ "$e2e_failed" -ne 0 ]; then
		echo "--- server log (tail) ---"; tail -n 30 "$LAB_DIR/server.log" 2>/dev/null
		echo "--- agent log (tail) ---"; tail -n 30 "$LAB_DIR/agent.log" 2>/dev/null
	fi
	rm -rf "$LAB_DIR"
}
trap e2e_cleanup EXIT

fail() {
	echo "FAIL: $*"
	e2e_failed=1
	exit 1
}

ok() { echo "ok: $*"; }

# api METHOD PATH [JSON]: calls the public API, prints the body; exits on HTTP >= 400
api() {
	local m=$1 p=$2 d=${3:-}
	if [ -n "$d" ]; then
		curl -sS --fail-with-body --cacert "$LAB_CA" -H "Authorization: Bearer $LAB_TOKEN" \
			-H 'Content-Type: application/json' -X "$m" --data "$d" "$LAB_URL$p"
	else
		curl -sS --fail-with-body --cacert "$LAB_CA" -H "Authorization: Bearer $LAB_TOKEN" \
			-X "$m" "$LAB_URL$p"
	fi
}

db() { sqlite3 -batch -noheader "$LAB_DIR/server/yamori.db" "$@"; }

rule_id() { lab_rule_id "$(lab_rule_file "$1")"; }

# Waits up to $2 s until an alert of rule id $1 exists; prints ms waited.
wait_alert() {
	local id=$1 t=$2 start now
	start=$(date +%s%N)
	while :; do
		if api GET "/api/v1/alerts?limit=1000" | grep -q "\"rule_id\": *\"$id\""; then
			now=$(date +%s%N)
			echo $(((now - start) / 1000000))
			return 0
		fi
		now=$(date +%s%N)
		[ $(((now - start) / 1000000000)) -ge "$t" ] && return 1
		sleep 0.05
	done
}
