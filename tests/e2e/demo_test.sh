#!/usr/bin/env bash
# End to end: the demo stack of scripts/demo.sh (demo/stack.sh: ffmpeg's live HLS with AES-128
# and DASH, `warden serve` with 10-second CAT tokens, Debian's nginx with docs/nginx/warden.conf)
# and the demo player (hls.js, dash.js) in Debian's Chromium driven by playwright-core
# (tests/e2e/demo.mjs): four viewers play for more than three token lifetimes with no HTTP error
# and advancing playback, plain and IP-bound tokens, refreshed by the token API and renewed by
# CAT renewal; then a token the viewer just replaced is replayed from six networks, caught as
# shared: the replays get the callout slate and no key, the detector bans it, and the paying
# viewer plays on.
# SHOTS=DIR keeps the player screenshots (scripts/demo-screenshots.sh writes docs/demo/).
# Skipped (77) when ffmpeg, nginx, Chromium or the npm packages are missing
# (scripts/deps.sh --test installs them).
set -uo pipefail
SRC=${WARDEN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
W=${WARDEN:?WARDEN must name the warden binary}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NGINX=${WARDEN_NGINX:-/usr/sbin/nginx}
for t in ffmpeg node curl openssl; do
  command -v $t >/dev/null || { echo "skip: $t is not installed (scripts/deps.sh --test)"; exit 77; }
done
[[ -x $NGINX ]] || { echo "skip: nginx is not installed at $NGINX (scripts/deps.sh --test)"; exit 77; }
[[ -x $CHROMIUM ]] || { echo "skip: Chromium is not installed at $CHROMIUM (scripts/deps.sh --test)"; exit 77; }
[[ -d $SRC/tests/e2e/node_modules/playwright-core && -d $SRC/demo/player/node_modules/hls.js ]] ||
  { echo "skip: npm packages missing (scripts/deps.sh --test installs tests/e2e and demo/player)"; exit 77; }

tmp=$(mktemp -d)
source "$SRC/demo/stack.sh"
NODE_PID=
cleanup() {
  [[ -z $NODE_PID ]] || kill -TERM "$NODE_PID" 2>/dev/null
  demo_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

(cd "$SRC/demo/player" && node build.mjs "$tmp/player") || { echo "not ok - the player bundle builds"; exit 1; }
DEMO_SRC=$SRC DEMO_WARDEN=$W DEMO_RUN=$tmp/run DEMO_PLAYER=$tmp/player DEMO_TTL=10 DEMO_PORT=
mkdir -p "$DEMO_RUN"
if ! demo_start; then
  echo "not ok - the demo stack starts"
  tail -20 "$DEMO_RUN"/warden.err "$DEMO_RUN"/ffmpeg.log "$DEMO_RUN"/nginx/error.log 2>/dev/null | sed 's/^/# /'
  exit 1
fi
echo "ok - the demo stack starts ($DEMO_URL)"

DEMO_BASE=$DEMO_BASE DEMO_WARDEN_URL=$DEMO_WARDEN_URL DEMO_ADMIN=$DEMO_ADMIN DEMO_TTL=$DEMO_TTL \
  CHROMIUM=$CHROMIUM SHOTS=${SHOTS:-} DEMO_CONSOLE_PASSWORD=${DEMO_CONSOLE_PASSWORD:-} \
  timeout -s KILL 240 node "$SRC/tests/e2e/demo.mjs" &
NODE_PID=$!
wait $NODE_PID
rc=$?
NODE_PID=
if ((rc)); then
  echo "# the end of warden's log:"
  tail -15 "$DEMO_RUN/warden.err" | sed 's/^/#   /'
  echo "# nginx errors:"
  grep -E '\[(error|crit|alert|emerg)\]' "$DEMO_RUN/nginx/error.log" | tail -10 | sed 's/^/#   /'
fi
# tokens stay out of the access log
if grep -q 'cat=' "$DEMO_RUN/nginx/access.log"; then
  echo "not ok - tokens stay out of nginx's access log"
  rc=1
else
  echo "ok - tokens stay out of nginx's access log"
fi
exit $rc
