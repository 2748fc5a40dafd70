-- wrk script for every HTTP scenario of docs/benchmarks.md: plays Traefik's forwardAuth call to /auth.
--
--   wrk -t2 -c50 -d15s --latency -s auth.lua http://127.0.0.1:PORT -- KIND FILE EXPECT [QUERY]
--
-- KIND    cookie (each line of FILE is a session cookie value), bearer (each line a JWT), none (no credential).
-- FILE    credentials, one a line; the requests rotate through them (each thread starts at its own offset).
-- EXPECT  the status every answer should have (200, 302, 403); others are counted as "unexpected".
-- QUERY   optional query of the forwardAuth address, e.g. allowedRolesAndGroups=admins (a per-route rule).
--
-- Requests are built once in init() and replayed, so the load generator spends its time on the socket, not in Lua.
-- done() prints one line, "WRKJSON {...}", read by the harness: counts and latency percentiles in microseconds.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local index = 1
local expected = 200
unexpected = 0

function init(args)
  local kind, file = args[1] or "none", args[2]
  expected = tonumber(args[3] or "200")
  local path = "/auth"
  if args[4] and args[4] ~= "" then path = path .. "?" .. args[4] end

  local credentials = {}
  if kind ~= "none" then
    for line in io.lines(file) do
      if #line > 0 then table.insert(credentials, line) end
    end
  end
  if #credentials == 0 then credentials = { "" } end

  for i, credential in ipairs(credentials) do
    local headers = {
      ["X-Forwarded-Method"] = "GET",
      ["X-Forwarded-Proto"] = "https",
      ["X-Forwarded-Host"] = "app.bench.test",
      ["X-Forwarded-Uri"] = "/dashboard/items?page=" .. i,
      ["X-Forwarded-For"] = "203.0.113.7",
      ["Accept"] = "text/html,application/xhtml+xml",
      ["Sec-Fetch-Mode"] = "navigate",
      ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) bench",
    }
    if kind == "cookie" then
      headers["Cookie"] = "_forwardauth_session=" .. credential .. "; theme=dark"
    elseif kind == "bearer" then
      headers["Authorization"] = "Bearer " .. credential
      headers["Accept"] = "application/json"
      headers["Sec-Fetch-Mode"] = nil
    end
    requests[i] = wrk.format("GET", path, headers)
  end
  index = (id * 7919) % #requests + 1
end

function request()
  local r = requests[index]
  index = index % #requests + 1
  return r
end

function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("unexpected") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"unexpected_status":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max,
    e.connect + e.read + e.write, e.timeout, bad))
end
