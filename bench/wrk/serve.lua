-- wrk script for bench/serve_bench.sh: one request shape per target, rotating through a pool of
-- CAT tokens and viewer addresses, optionally at a fixed rate, and a parseable summary line at
-- the end. /auth gets the address in X-Real-IP (as nginx sends it), /v1/decide in `ip`.
--
-- Environment (read once per wrk thread):
--   BENCH_TARGET   nginx (GET /), auth (GET /auth, token in X-Original-URI) or decide
--                  (GET /v1/decide?token=...)
--   BENCH_TOKENS   file of "TOKEN ADDRESS" lines: a token and its viewer's address (auth, decide)
--   BENCH_RATE     requests/s for the whole run; 0 or unset: as fast as the connections go
--   BENCH_THREADS  wrk's -t (the rate is split over the threads)
--
-- Fixed rate: every request claims the next slot of one schedule per thread (1/rate apart) and
-- waits for it with wrk's delay(), so the rate does not depend on the latency. wrk's delay() is
-- in whole milliseconds and wrk times a request from when it is written, not from its slot: a
-- server that stalls is seen as fewer requests, not as longer latency (coordinated omission).

local target = os.getenv("BENCH_TARGET") or "nginx"
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1") or 1
local reqs = {}
local nreq, next_req = 0, 1

local function load_tokens(path)
  local t = {}
  local f = assert(io.open(path or "", "r"), "BENCH_TOKENS: cannot open the token file")
  for line in f:lines() do
    local tok, ip = line:match("^(%S+)%s+(%S+)$")
    if tok then t[#t + 1] = { tok = tok, ip = ip } end
  end
  f:close()
  assert(#t > 0, "BENCH_TOKENS: no 'TOKEN ADDRESS' lines")
  return t
end

-- Requests are built once: request() only hands out the next string, for every target alike.
function init(args)
  if target == "nginx" then
    reqs[1] = wrk.format("GET", "/")
  else
    for _, v in ipairs(load_tokens(os.getenv("BENCH_TOKENS"))) do
      if target == "auth" then
        reqs[#reqs + 1] = wrk.format("GET", "/auth", {
          ["X-Original-URI"] = "/live/ch1/seg1.ts?cat=" .. v.tok,
          ["X-Real-IP"] = v.ip })
      elseif target == "decide" then
        reqs[#reqs + 1] = wrk.format("GET", "/v1/decide?token=" .. v.tok .. "&ip=" .. v.ip ..
          "&url=https://cdn.example.com/live/ch1/seg1.ts")
      else
        error("BENCH_TARGET must be nginx, auth or decide")
      end
    end
  end
  nreq = #reqs
end

function request()
  local r = reqs[next_req]
  next_req = next_req % nreq + 1
  return r
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local gap = 1000 * nthreads / rate -- ms between slots of this thread
  local slot = nil

  function delay()
    local t = now_ms()
    if slot == nil or slot < t - 1000 then
      slot = t -- start, or more than 1 s behind: do not burst to catch up
    end
    slot = slot + gap
    local d = slot - t
    return d > 0 and math.floor(d + 0.5) or 0
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d " ..
    "max_us=%d connect_err=%d read_err=%d write_err=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
