#!/usr/bin/env bash
# The Warden demo, one command: a live stream behind nginx and Warden, and a player that
# refreshes its token without a glitch. Installs what is missing (scripts/deps.sh --demo),
# builds Warden and the player, then starts on 127.0.0.1:
#   ffmpeg        a live-like HLS stream (AES-128, its key from Warden) and a DASH stream
#   warden serve  10-second CAT tokens, automate mode, sharing detection, the content key
#   nginx         docs/nginx/warden.conf in front (auth_request on every playlist and segment)
# prints the player's address and stops everything on Ctrl-C. README.md ("Demo") walks through
# it. DEMO_PORT sets nginx's port (default 8088, or a free one when that is taken);
# WARDEN_BUILD_DIR the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
scripts/deps.sh --demo
BUILD=${WARDEN_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target warden-cli >/dev/null
(cd demo/player && node build.mjs dist)

source demo/stack.sh
DEMO_SRC=$SRC
DEMO_WARDEN=$SRC/$BUILD/warden
DEMO_PLAYER=$SRC/demo/player/dist
DEMO_RUN=$(mktemp -d /tmp/warden-demo.XXXXXX)
DEMO_PORT=${DEMO_PORT:-8088}
DEMO_DETACH=1
if (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_PORT") 2>/dev/null; then
  echo "demo: port $DEMO_PORT is taken; using a free one" >&2
  DEMO_PORT=
fi
stopping=0
stop() {
  set +e # demo_stop checks what is still running
  ((stopping)) && return
  stopping=1
  echo
  echo "demo: stopping (nginx, ffmpeg, warden); the run's files stay in $DEMO_RUN"
  demo_stop
}
trap stop EXIT
trap 'exit 0' INT TERM # Ctrl-C is how the demo ends

echo "demo: starting in $DEMO_RUN (the stream needs about 6 seconds)"
demo_start || { echo "demo: the stack did not start; logs in $DEMO_RUN" >&2; exit 1; }

cat <<EOF

  Warden demo is running.

  The player (HLS, AES-128, a plain token refreshed from the token API):
      $DEMO_URL
  Other players:
      $DEMO_URL?stream=dash               DASH
      $DEMO_URL?bind=ip                   a token bound to your address
      $DEMO_URL?renew=catr                no refresh: CAT renewal only
  Catch a shared token: press "Share my last token" in the player. A second player opens with
  the token the first one just replaced, from six other networks (X-Forwarded-For, which this
  demo's nginx believes). Warden finds the token shared within a few requests: the sharer gets
  the slate, the paying viewer plays on.

  Warden:       $DEMO_WARDEN_URL   (admin token: $DEMO_ADMIN)
      curl -s -H "Authorization: Bearer $DEMO_ADMIN" "$DEMO_WARDEN_URL/v1/bans?type=token&prefix="
      curl -s -H "Authorization: Bearer $DEMO_ADMIN" "$DEMO_WARDEN_URL/v1/audit?limit=5"
  Console:      ${DEMO_CONSOLE_PASSWORD:+$DEMO_WARDEN_URL/ui/   (user demo, password $DEMO_CONSOLE_PASSWORD)}
  Decisions:    $DEMO_RUN/warden-data/decisions.log
  nginx log:    $DEMO_RUN/nginx/access.log

  Ctrl-C stops everything.
EOF

# Wait until Ctrl-C, or until one of the processes ends by itself.
while :; do
  sleep 1 || exit 0
  for pid in "${DEMO_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: a process of the stack ($pid) ended; see the logs in $DEMO_RUN" >&2
      exit 1
    fi
  done
done
