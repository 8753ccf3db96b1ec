#!/bin/sh
# The test oracle: what every build path of nara must pass (make test, the flake's
# checks, the NixOS VM test). POSIX sh and curl only.
#
#   checks/oracle.sh BIN          start BIN on a free loopback port and check it
#   checks/oracle.sh BIN URL      check a nara already running at URL (not stopped)
#
# 1. artifact: BIN exists, is executable, and `BIN --version` names nara;
# 2. embedded assets: / is the SPA, /docs/ is the book, a hashed asset is immutable;
# 3. health: /healthz and /readyz answer 200, `BIN healthcheck` exits 0;
# 4. shutdown (own instance only): SIGTERM makes it exit 0.
# With ORACLE_MQTT_PORT=N (own instance only; mosquitto on PATH), the oracle first
# starts mosquitto on 127.0.0.1:N and nara with --mqtt-url mqtt://localhost:N
# --require-plaza: nara must resolve the broker's host name itself (what a static
# binary in an empty image does) and join the plaza before it turns ready. With
# ORACLE_MQTT_PORT=free it picks a port no one listens on (below the kernel's
# ephemeral range, at random, until mosquitto can bind one).
# The first failure stops the run with one line saying what failed.
set -u

say() { printf 'oracle: %s\n' "$*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}

[ $# -ge 1 ] || fail "usage: checks/oracle.sh BIN [URL]"
bin=$1
url=${2:-}
command -v curl >/dev/null 2>&1 || fail "curl is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/nara-oracle.XXXXXX") || fail "cannot make a temporary directory"
pid=
broker_pid=
cleanup() {
	for running in $pid $broker_pid; do
		if kill -0 "$running" 2>/dev/null; then
			kill -KILL "$running" 2>/dev/null
			wait "$running" 2>/dev/null
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the artifact ------------------------------------------------------------
[ -e "$bin" ] || fail "artifact: $bin does not exist"
[ -x "$bin" ] || fail "artifact: $bin is not executable"
version=$("$bin" --version 2>&1) || fail "artifact: $bin --version exited non-zero: $version"
case $version in
nara\ *) say "ok: artifact runs: $version" ;;
*) fail "artifact: $bin --version printed '$version', expected 'nara VERSION (REVISION, PROFILE)'" ;;
esac

# --- a broker, when asked for ----------------------------------------------------
mqtt_port=${ORACLE_MQTT_PORT:-}
set --
if [ -n "$mqtt_port" ]; then
	[ -z "$url" ] || fail "ORACLE_MQTT_PORT needs the oracle's own instance, not a URL"
	command -v mosquitto >/dev/null 2>&1 || fail "ORACLE_MQTT_PORT is set, but mosquitto is not installed"
	case $mqtt_port in
	free)
		# Ports 10000 to 32767: under Linux's ephemeral range, so no outgoing
		# connection holds one; a port someone listens on makes mosquitto exit, and
		# the next is tried.
		ports=$(od -An -N40 -tu2 /dev/urandom | tr -s ' ' '\n' | awk 'NF { print 10000 + $1 % 22768 }')
		;;
	*[!0-9]* | '') fail "ORACLE_MQTT_PORT is '$mqtt_port', not a port number or free" ;;
	*) ports=$mqtt_port ;;
	esac
	for mqtt_port in $ports; do
		# As root, mosquitto would switch to its own user before reading this file.
		printf 'persistence false\nuser root\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt_port" >"$work/mosquitto.conf"
		mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
		broker_pid=$!
		tries=0
		# "running" comes once every listener is bound; a port in use ends it first.
		until grep -q "mosquitto version .* running" "$work/mosquitto.log"; do
			kill -0 "$broker_pid" 2>/dev/null || break
			tries=$((tries + 1))
			[ "$tries" -le 100 ] || fail "broker: mosquitto did not listen on $mqtt_port within 10 s"
			sleep 0.1
		done
		kill -0 "$broker_pid" 2>/dev/null && break
		wait "$broker_pid" 2>/dev/null
		broker_pid=
		say "broker: mosquitto could not listen on $mqtt_port: $(tail -n 1 "$work/mosquitto.log")"
	done
	[ -n "$broker_pid" ] || fail "broker: mosquitto could listen on none of the ports tried: $(tail -n 3 "$work/mosquitto.log")"
	say "ok: mosquitto listens on 127.0.0.1:$mqtt_port"
	set -- --mqtt-url "mqtt://localhost:$mqtt_port" --require-plaza
fi

# --- start our own instance unless given a URL ------------------------------------
if [ -z "$url" ]; then
	"$bin" --http-addr 127.0.0.1:0 --log-format json --name oracle "$@" >"$work/stdout" 2>"$work/log" &
	pid=$!
	tries=0
	while :; do
		addr=$(sed -n 's/.*"message":"nara listening".*"addr":"\([^"]*\)".*/\1/p' "$work/log" | head -n 1)
		[ -n "$addr" ] && break
		kill -0 "$pid" 2>/dev/null || fail "start: nara exited before listening: $(tail -n 3 "$work/log")"
		tries=$((tries + 1))
		[ "$tries" -le 100 ] || fail "start: nara did not log 'nara listening' within 10 s"
		sleep 0.1
	done
	url="http://$addr"
	say "ok: started on $url"
fi

if [ -n "$mqtt_port" ]; then
	tries=0
	until grep -q '"message":"joined the plaza"' "$work/log"; do
		kill -0 "$pid" 2>/dev/null || fail "plaza: nara exited: $(tail -n 3 "$work/log")"
		tries=$((tries + 1))
		[ "$tries" -le 100 ] || fail "plaza: nara did not join the broker at mqtt://localhost:$mqtt_port within 10 s: $(tail -n 3 "$work/log")"
		sleep 0.1
	done
	say "ok: joined the plaza at mqtt://localhost:$mqtt_port (the host name resolved by nara)"
fi

# fetch PATH [curl options...]: body to $work/body, headers to $work/headers; prints the status.
fetch() {
	path=$1
	shift
	curl --silent --show-error --max-time 10 --output "$work/body" --dump-header "$work/headers" \
		--write-out '%{http_code}' "$@" "$url$path" 2>"$work/curl-error" || {
		fail "$path: curl failed: $(cat "$work/curl-error")"
	}
}
header() { tr -d '\r' <"$work/headers" | sed -n "s/^$1: *//Ip" | head -n 1; }
expect_status() {
	got=$(fetch "$@")
	[ "$got" = 200 ] || fail "$1 answered $got, expected 200"
}
expect_body() { grep -q "$2" "$work/body" || fail "$1: the body does not contain '$2'"; }

# --- 2. the embedded assets -----------------------------------------------------
expect_status / -H 'Accept: text/html'
expect_body / '<div id="app">'
say "ok: / serves the SPA"

expect_status /docs/
expect_body /docs/ 'Book generated using mdBook'
say "ok: /docs/ serves the book"

asset=$(fetch / >/dev/null; sed -n 's/.*src="\(\/assets\/[^"]*\.js\)".*/\1/p' "$work/body" | head -n 1)
[ -n "$asset" ] || fail "/: index.html references no hashed /assets/*.js file"
expect_status "$asset"
case $(header cache-control) in
*immutable*) say "ok: $asset is served immutable" ;;
*) fail "$asset: Cache-Control is '$(header cache-control)', expected it to be immutable" ;;
esac

# --- 3. health ------------------------------------------------------------------
expect_status /healthz
expect_body /healthz '^ok'
say "ok: /healthz answers ok"
expect_status /readyz
expect_body /readyz '"ready"'
say "ok: /readyz answers ready"
"$bin" healthcheck --url "$url/healthz" 2>"$work/healthcheck" || fail "nara healthcheck exited non-zero: $(cat "$work/healthcheck")"
say "ok: nara healthcheck exits 0"

# --- 4. graceful stop -----------------------------------------------------------
if [ -n "$pid" ]; then
	kill -TERM "$pid"
	wait "$pid"
	code=$?
	pid=
	[ "$code" = 0 ] || fail "SIGTERM: nara exited $code, expected 0"
	say "ok: SIGTERM stops nara with exit 0"
fi

say "all checks passed"
