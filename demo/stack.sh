# The Warden demo stack, sourced by scripts/demo.sh and tests/e2e/demo_test.sh (not run).
#
#   ffmpeg      a live-like stream from a small generated clip, looped in real time: HLS with
#               AES-128 (the key URI is Warden's key endpoint behind nginx, /keys/ch1) and DASH,
#               2-second segments, a sliding window; plus a slate for shared tokens
#   warden      `warden serve` with the demo configuration: CAT tokens of 10 s from the token API
#               (with a CAT renewal), automate mode, sharing detection with a callout to the
#               slate, the content key
#   nginx       docs/nginx/warden.conf (its ADAPT lines rewritten), plus the demo's locations:
#               the player, the token API, and X-Forwarded-For believed from this machine so one
#               browser can play viewers on many networks
#   the player  demo/player (hls.js, dash.js) bundled into the web root
#
# Everything listens on 127.0.0.1. Inputs (set before demo_start):
#   DEMO_SRC     the source tree
#   DEMO_WARDEN  the warden binary
#   DEMO_RUN     an empty directory for this run (configuration, media, logs, data)
#   DEMO_PORT    nginx's port (empty: a free one)
#   DEMO_PLAYER  the built player (a directory with index.html and player.js)
#   DEMO_DETACH  non-empty: start the processes in sessions of their own (setsid), so a Ctrl-C
#                in the terminal reaches only the caller, which stops them in order
# Outputs: DEMO_URL (the player), DEMO_BASE (nginx), DEMO_WARDEN_URL, DEMO_ADMIN (the admin token),
# DEMO_CONSOLE_PASSWORD (console user demo; empty when this warden has no console), DEMO_VIEWER_JWT,
# DEMO_TTL. demo_stop ends what demo_start started, by PID.

DEMO_TTL=${DEMO_TTL:-10}
DEMO_PIDS=()

demo_log() { echo "demo: $*" >&2; }

# demo_free_port: a port nothing on 127.0.0.1 listens on (probed; the caller retries on a race).
demo_free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# demo_wait SECONDS COMMAND...: until the command succeeds, at most SECONDS.
demo_wait() {
  local end=$((SECONDS + $1))
  shift
  while ((SECONDS < end)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

demo_media() {
  local w=$DEMO_RUN/www font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf label slate
  mkdir -p "$w/live/ch1/hls" "$w/live/ch1/dash" "$w/slates"
  label="drawtext=fontfile=$font:fontsize=22:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6"
  label+=":x=16:y=h-th-16:text='Warden demo stream  %{pts\\:hms}'"
  slate="drawtext=fontfile=$font:fontsize=24:fontcolor=white:x=(w-tw)/2:y=(h-th)/2"
  slate+=":text='This token was shared. Warden stopped it.'"
  if [[ ! -r $font ]]; then # without the font: the pictures alone
    label=null
    slate=null
  fi
  # a 12-second clip, a key frame every second, so every segment starts with one
  ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "testsrc2=size=640x360:rate=25" -t 12 \
    -vf "$label" -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -g 25 \
    -keyint_min 25 -sc_threshold 0 -b:v 500k "$DEMO_RUN/clip.mp4" || return 1
  # the slate a shared token is shown instead of the stream (public, absolute segment URIs)
  ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i "color=c=0x8b1a1a:size=640x360:rate=25" \
    -t 4 -vf "$slate" -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -g 25 \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_base_url /slates/ \
    -hls_segment_filename "$w/slates/shared%d.ts" "$w/slates/shared.m3u8" || return 1
  openssl rand 16 >"$DEMO_RUN/ch1.key"
  printf '/keys/ch1\n%s\n' "$DEMO_RUN/ch1.key" >"$DEMO_RUN/keyinfo"
}

demo_ffmpeg() {
  local w=$DEMO_RUN/www/live/ch1
  ${DEMO_DETACH:+setsid} ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$DEMO_RUN/clip.mp4" \
    -map 0:v -c copy -f hls -hls_time 2 -hls_list_size 6 -hls_delete_threshold 4 \
    -hls_flags delete_segments+independent_segments+omit_endlist+temp_file \
    -hls_key_info_file "$DEMO_RUN/keyinfo" -hls_segment_filename "$w/hls/seg%d.ts" "$w/hls/index.m3u8" \
    -map 0:v -c copy -f dash -seg_duration 2 -window_size 6 -extra_window_size 4 -use_template 1 \
    -use_timeline 1 -remove_at_exit 1 -init_seg_name 'init-$RepresentationID$.m4s' \
    -media_seg_name 'seg-$RepresentationID$-$Number%05d$.m4s' "$w/dash/manifest.mpd" \
    >"$DEMO_RUN/ffmpeg.log" 2>&1 &
  DEMO_PIDS+=($!)
  DEMO_FFMPEG_PID=$!
}

demo_warden_config() {
  DEMO_ADMIN=$(openssl rand -hex 24)
  local cat_key viewer_secret
  cat_key=$(openssl rand -hex 32)
  viewer_secret=$(openssl rand -hex 32)
  DEMO_CAT_KEY=$cat_key
  cat >"$DEMO_RUN/warden.yaml" <<EOF
# The demo's warden serve (demo/stack.sh writes it with keys made for the run).
listen: [127.0.0.1:0]
data_dir: $DEMO_RUN/warden-data
admin_token: $DEMO_ADMIN
trusted_proxies: [127.0.0.1]          # the demo's nginx
client_ip_header: X-Real-IP
keys:
  - {scheme: cat, kind: hex, value: $cat_key}
policies:
  - name: live
    path_prefix: /live/
    schemes: [cat]
    mode: automate
    actions:
      shared: {action: callout, target: /slates/shared.m3u8}
      banned: {action: callout, target: /slates/shared.m3u8}
detection:
  segment_seconds: 2
token_api:
  scheme: cat
  viewer_key: {kind: secret, value: $viewer_secret}
  viewer_issuers: [demo-login]
  path_prefix: /live/
  default_expire: $DEMO_TTL
  max_expire: 60
  cat_renewal: {type: header, expadd: $DEMO_TTL, deadline: 3}
content_keys:
  - {id: ch1, path: /live/ch1/, file: $DEMO_RUN/ch1.key}
decision_log: {path: decisions.log}
EOF
  # the console (/ui on Warden's port): user demo, a password made for the run
  local entry
  DEMO_CONSOLE_PASSWORD=$(openssl rand -hex 8)
  if entry=$(printf '%s\n' "$DEMO_CONSOLE_PASSWORD" | "$DEMO_WARDEN" passwd --user demo --role admin 2>/dev/null); then
    printf 'console:\n  users:\n    %s\n' "$entry" >>"$DEMO_RUN/warden.yaml"
  else
    DEMO_CONSOLE_PASSWORD=
  fi
  DEMO_VIEWER_JWT=$("$DEMO_WARDEN" token issue --scheme jwt --secret "$viewer_secret" --ttl 86400 \
    --claims '{"iss":"demo-login","sub":"alice"}') || return 1
}

demo_warden() {
  ${DEMO_DETACH:+setsid} "$DEMO_WARDEN" serve --config "$DEMO_RUN/warden.yaml" >"$DEMO_RUN/warden.out" 2>"$DEMO_RUN/warden.err" &
  DEMO_PIDS+=($!)
  DEMO_WARDEN_PID=$!
  local port=""
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DEMO_RUN/warden.err" | head -1 | grep -o '[0-9]*$')
    [[ -n $port ]] && break
    kill -0 "$DEMO_WARDEN_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || { demo_log "warden did not start: $(tail -5 "$DEMO_RUN/warden.err")"; return 1; }
  DEMO_WARDEN_URL=http://127.0.0.1:$port
  demo_wait 20 curl -sf -o /dev/null "$DEMO_WARDEN_URL/readyz" || { demo_log "warden is not ready"; return 1; }
}

demo_player() {
  local p=$DEMO_RUN/www/player
  mkdir -p "$p"
  cp -r "$DEMO_PLAYER"/. "$p/"
  cat >"$p/config.json" <<EOF
{"token_api": "/v1/token", "token_path": "/live/ch1/", "expire": $DEMO_TTL, "lead": 0.4,
 "param": "cat", "viewer_jwt": "$DEMO_VIEWER_JWT",
 "hls": "/live/ch1/hls/index.m3u8", "dash": "/live/ch1/dash/manifest.mpd"}
EOF
}

# The nginx configuration: docs/nginx/warden.conf with its ADAPT lines rewritten and the demo's
# locations included in its server block.
demo_nginx_config() {
  local n=$DEMO_RUN/nginx conf doc=$DEMO_SRC/docs/nginx/warden.conf
  mkdir -p "$n/temp"
  conf=$(cat "$doc")
  local from to slate="    # Slates are public: a callout slate's playlist lists its segments under /slates/."
  while IFS='|' read -r from to; do
    [[ $conf == *"$from"* ]] || { demo_log "docs/nginx/warden.conf lacks the line '$from'"; return 1; }
    conf=${conf/"$from"/"$to"}
  done <<EOF
server 127.0.0.1:8080;|server ${DEMO_WARDEN_URL#http://};
listen 80;|listen 127.0.0.1:$1;
root /var/www/hls;|root $DEMO_RUN/www;
access_log /var/log/nginx/warden-access.log warden;|access_log $n/access.log warden;
EOF
  [[ $conf == *"$slate"* ]] || { demo_log "docs/nginx/warden.conf lacks the slates location"; return 1; }
  printf '%s\n' "${conf/"$slate"/"    include $n/demo-locations.conf;
$slate"}" >"$n/warden.conf"
  cat >"$n/demo-locations.conf" <<EOF
    # The demo plays the CDN in front of this origin: it believes X-Forwarded-For from this
    # machine, so one browser can act as viewers on many networks.
    set_real_ip_from 127.0.0.0/8;
    real_ip_header X-Forwarded-For;

    # The player (public) and its page.
    location = / { return 302 /player/; }
    location /player/ { add_header Cache-Control "no-store" always; }

    # Warden's token API, same origin as the player (Warden checks the viewer's bearer JWT).
    location = /v1/token {
        proxy_pass http://warden;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Real-IP \$remote_addr;
        proxy_set_header X-Forwarded-For \$remote_addr;
    }
EOF
  local user_line=""
  [[ $(id -u) -ne 0 ]] || user_line="user root;" # workers that can read the run directory
  cat >"$n/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $n/nginx.pid;
lock_file $n/nginx.lock;
error_log $n/error.log warn;
events { worker_connections 512; }
http {
  client_body_temp_path $n/temp/body;
  proxy_temp_path $n/temp/proxy;
  fastcgi_temp_path $n/temp/fastcgi;
  uwsgi_temp_path $n/temp/uwsgi;
  scgi_temp_path $n/temp/scgi;
  types {
    text/html html; text/css css; application/javascript js; application/json json;
    text/plain txt; image/png png;
    application/vnd.apple.mpegurl m3u8; video/mp2t ts;
    application/dash+xml mpd; video/iso.segment m4s;
  }
  default_type application/octet-stream;
  include $n/warden.conf;
}
EOF
}

demo_nginx() {
  local nginx=${DEMO_NGINX:-/usr/sbin/nginx} port tries=5 n=$DEMO_RUN/nginx
  [[ -n ${DEMO_PORT:-} ]] && tries=1
  for ((i = 0; i < tries; i++)); do
    port=${DEMO_PORT:-$(demo_free_port)}
    demo_nginx_config "$port" || return 1
    "$nginx" -t -q -p "$n/" -c "$n/nginx.conf" -e "$n/error.log" 2>"$n/test.err" ||
      { demo_log "nginx refuses the configuration: $(head -c 600 "$n/test.err")"; return 1; }
    ${DEMO_DETACH:+setsid} "$nginx" -p "$n/" -c "$n/nginx.conf" -e "$n/error.log" -g 'daemon off;' >"$n/stdout.log" 2>&1 &
    DEMO_NGINX_PID=$!
    if demo_wait 5 curl -s -o /dev/null "http://127.0.0.1:$port/player/"; then
      DEMO_PIDS+=("$DEMO_NGINX_PID")
      DEMO_BASE=http://127.0.0.1:$port
      DEMO_URL=$DEMO_BASE/player/
      return 0
    fi
    kill "$DEMO_NGINX_PID" 2>/dev/null
    wait "$DEMO_NGINX_PID" 2>/dev/null
  done
  demo_log "nginx did not start: $(tail -c 600 "$n/error.log" 2>/dev/null)"
  return 1
}

# The stream is ready once both playlists list three segments.
demo_stream_ready() {
  local w=$DEMO_RUN/www/live/ch1
  [[ -f $w/hls/index.m3u8 && -f $w/dash/manifest.mpd ]] || return 1
  (($(grep -c '^seg' "$w/hls/index.m3u8") >= 3)) || return 1
  grep -q 'r="[2-9]' "$w/dash/manifest.mpd" || (($(grep -c '<S ' "$w/dash/manifest.mpd") >= 3))
}

demo_start() {
  : "${DEMO_SRC:?}" "${DEMO_WARDEN:?}" "${DEMO_RUN:?}" "${DEMO_PLAYER:?}"
  DEMO_PIDS=()
  demo_media || { demo_log "ffmpeg cannot make the media"; return 1; }
  demo_warden_config || return 1
  demo_warden || return 1
  demo_player
  demo_ffmpeg
  demo_nginx || return 1
  demo_wait 40 demo_stream_ready || { demo_log "the stream did not start: $(tail -5 "$DEMO_RUN/ffmpeg.log")"; return 1; }
}

# demo_stop: SIGTERM to each process started (nginx, ffmpeg, warden), then SIGKILL after 5 s.
demo_stop() {
  local pid i
  for ((i = ${#DEMO_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${DEMO_PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${DEMO_PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  DEMO_PIDS=()
}
