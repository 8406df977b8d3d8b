-- wrk script: replay pre-signed bodies (one JSON a line, one file per thread), count answers
-- whose envelope is not result_code 200, and print a JSON summary line in done().
-- args: BODIES_PREFIX PATH.   Files: BODIES_PREFIX.<thread index>.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

bad = 0
wraps = 0
sample = ""
local bodies = {}
local n = 0
local i = 0

function init(args)
  local f = assert(io.open(args[1] .. "." .. tid, "r"))
  for line in f:lines() do
    n = n + 1
    bodies[n] = line
  end
  f:close()
  wrk.method = "POST"
  wrk.path = args[2]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wraps = wraps + 1
  end
  return wrk.format(nil, nil, nil, bodies[i])
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result_code":200', 1, true) then
    bad = bad + 1
    if sample == "" then
      sample = string.sub(body, 1, 200)
    end
  end
end

local function escape(text)
  return (string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end))
end

function done(summary, latency, requests)
  local bad_total, wraps_total, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    wraps_total = wraps_total + thread:get("wraps")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"bad":%d,"wraps":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"sample":"%s"}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, bad_total, wraps_total, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean, escape(first)))
end
