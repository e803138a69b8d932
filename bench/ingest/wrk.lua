-- wrk: POST the same signed body with a unique X-GitHub-Delivery per request.
-- The GitHub signature covers the body only, so it is computed once (run.sh).
-- thread_id and non_202 are globals of each thread's Lua state (thread:set/get).
local counter = 0
local threads = {}
local body_file = os.getenv("BENCH_BODY")
local signature = os.getenv("BENCH_SIGNATURE")
local run_id = os.getenv("BENCH_RUN_ID") or "run"

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local handle = assert(io.open(body_file, "rb"))
  wrk.body = handle:read("*a")
  handle:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = "pull_request"
  wrk.headers["X-Hub-Signature-256"] = signature
  non_202 = 0
end

function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = run_id .. "-" .. thread_id .. "-" .. counter
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 202 then non_202 = non_202 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non_202") end
  io.write(string.format(
    "RESULT requests=%d non_202=%d socket_errors=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
