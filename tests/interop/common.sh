# Shared by the interop tests (tests/interop/*_test.sh): sourced, never run on its own.
#
# Checks the environment CTest gives every script (WARDEN, WARDEN_INTEROP, WARDEN_NODE_MODULES),
# makes a private temp directory that is removed on exit (after stopping any server listed in
# STOP_PIDS), and provides the check helpers. Every check prints one line, "ok - ..." or
# "not ok - ...", and `finish` prints "N passed, M failed" and fails when M > 0.
#
# The Node helpers (*.mjs) run from copies in the temp directory next to a `node_modules` link to
# WARDEN_NODE_MODULES, so the reference packages are the ones CTest names, wherever they are.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "${WARDEN_INTEROP:-OFF}" in
  ON | on | On | 1 | TRUE | true | YES | yes) ;;
  *)
    echo "skipped: WARDEN_INTEROP is not ON (configure with -DWARDEN_INTEROP=ON)"
    exit 77
    ;;
esac

W=${WARDEN:-}
if [[ -z $W || ! -x $W ]]; then
  echo "not ok - WARDEN must name the built warden binary (got '${W}')"
  echo "0 passed, 1 failed"
  exit 1
fi

pass=0
fail=0
STOP_PIDS=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-interop.XXXXXX")

cleanup() {
  local pid
  for pid in "${STOP_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STOP_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

ok() {
  echo "ok - $1"
  pass=$((pass + 1))
}
bad() {
  echo "not ok - $1"
  fail=$((fail + 1))
}
# same DESC GOT WANT: ok when GOT equals WANT; otherwise not ok, showing both.
same() {
  if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1 (got '$2', want '$3')"; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
}

# Stop at once (a missing prerequisite): one "not ok" line and the summary.
die() {
  bad "$1"
  finish || true
  exit 1
}

# Node and the reference packages; copies the helpers next to a node_modules link.
need_node() {
  command -v node >/dev/null 2>&1 || die "node is not installed (scripts/deps.sh --test installs it)"
  local nm=${WARDEN_NODE_MODULES:-$HERE/node_modules} pkg
  for pkg in "$@"; do
    [[ -f $nm/$pkg/package.json ]] ||
      die "npm package $pkg is missing in $nm: run 'cd tests/interop && npm ci' (or scripts/deps.sh --test)"
  done
  mkdir -p "$tmp/js"
  cp "$HERE"/*.mjs "$tmp/js/"
  ln -s "$(cd "$nm" && pwd)" "$tmp/js/node_modules"
}

# node_run SCRIPT ARGS...: run a helper (bounded in time).
node_run() {
  local script=$1
  shift
  timeout 60 node --no-deprecation "$tmp/js/$script" "$@"
}

# w ARGS...: run warden (bounded in time).
w() {
  timeout 30 "$W" "$@"
}

# run_w ARGS...: run warden, stdout to $tmp/out, stderr to $tmp/err; sets RC. Never fails.
run_w() {
  RC=0
  timeout 30 "$W" "$@" >"$tmp/out" 2>"$tmp/err" || RC=$?
}

# Baselines: checks that must pass before a rejection means anything (while the valid case fails
# too, a rejection proves nothing). BASE[KEY] is set by a passing check run with `-s KEY`.
declare -A BASE=()

# expect_w WANT DESC [-r REASON] [-s KEY] [-a KEY] -- ARGS...: warden ARGS must exit WANT.
#   -r REASON  stderr must also match REASON (grep -i basic regex)
#   -s KEY     when the check passes, record baseline KEY
#   -a KEY     run only when baseline KEY passed; otherwise report not ok
expect_w() {
  local want=$1 desc=$2 reason="" set_key="" after_key=""
  shift 2
  while [[ $1 != -- ]]; do
    case $1 in
      -r) reason=$2 ;;
      -s) set_key=$2 ;;
      -a) after_key=$2 ;;
    esac
    shift 2
  done
  shift # --
  RC=-1
  if [[ -n $after_key && -z ${BASE[$after_key]:-} ]]; then
    bad "$desc (not run: its valid case '$after_key' did not pass)"
    return 0
  fi
  run_w "$@"
  if [[ $RC -ne $want ]]; then
    bad "$desc (warden exit $RC, want $want): $(head -c 300 "$tmp/err" | tr '\n' ' ')"
  elif [[ -n $reason ]] && ! grep -qi -- "$reason" "$tmp/err"; then
    bad "$desc (reason '$(head -c 200 "$tmp/err" | tr '\n' ' ')' does not match '$reason')"
  else
    ok "$desc"
    [[ -z $set_key ]] || BASE[$set_key]=1
  fi
}

# json_get FILE EXPR: print a value of the JSON in FILE (a JavaScript expression over `j`).
json_get() {
  timeout 20 node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = (0, eval)("(j) => (" + process.argv[2] + ")")(j);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}
