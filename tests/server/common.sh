# Helpers for the black-box tests of `warden serve` (sourced, not run).
# Each test starts the real daemon on a free 127.0.0.1 port (--listen 127.0.0.1:0; the port is
# read from its "listening on" line) with a temporary data directory, bounded by `timeout`.
set -uo pipefail
W=${WARDEN:?WARDEN must name the warden binary}
command -v curl >/dev/null || { echo "skip: curl is not installed"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq is not installed (scripts/deps.sh --test)"; exit 77; }
tmp=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    local child
    child=$(pgrep -P "$SERVER_PID" | head -1) # warden itself: `timeout` does not pass SIGKILL on
    [[ -z $child ]] || kill -KILL "$child" 2>/dev/null
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
finish() {
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
  exit $?
}

# start_server LOGNAME ARGS...: start `warden serve ARGS` (stderr in $tmp/LOGNAME.err), wait
# until /readyz answers 200; sets SERVER_PID (the `timeout` around it, which passes SIGTERM on),
# WARDEN_PID (the warden process itself) and PORT. Returns 1 on failure.
start_server() {
  local log=$1; shift
  SERVER_LOG="$tmp/$log.err"
  : >"$tmp/$log.err"
  timeout -s KILL 300 "$W" serve "$@" >"$tmp/$log.out" 2>"$tmp/$log.err" &
  SERVER_PID=$!
  PORT=
  local i
  for i in $(seq 1 200); do
    if [[ -z $PORT ]]; then
      PORT=$(grep -o 'listening on https\?://127.0.0.1:[0-9]*' "$tmp/$log.err" | head -1 | grep -o '[0-9]*$')
    fi
    if [[ -n $PORT ]] && curl -sk -o /dev/null -w '%{http_code}' "$(base_url)/readyz" 2>/dev/null | grep -q 200; then
      WARDEN_PID=$(pgrep -P "$SERVER_PID" | head -1)
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start:"; cat "$tmp/$log.err"
  return 1
}
SCHEME=http
base_url() { echo "$SCHEME://127.0.0.1:$PORT"; }

# stop_server: SIGTERM, wait; returns the server's exit status.
stop_server() {
  local rc
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID"
  rc=$?
  SERVER_PID=
  if [[ $rc -ne 0 ]]; then
    echo "# the server exited with $rc; the end of its log:"
    tail -40 "$SERVER_LOG" | sed 's/^/#   /'
  fi
  return $rc
}

# req METHOD PATH [curl args...]: sets CODE and BODY ($tmp/body)
req() {
  local m=$1 p=$2; shift 2
  CODE=$(curl -sk -o "$tmp/body" -w '%{http_code}' -X "$m" "$(base_url)$p" "$@")
  BODY=$(cat "$tmp/body")
}
