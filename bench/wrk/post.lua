-- wrk script for bench/compare.sh: POSTs the file $BODY (a GraphQL request)
-- with the bearer token $TOKEN (if set), counts responses that are not 200 or
-- that carry "errors", and prints one JSON line (prefixed WRKJSON) at the end.
local f = assert(io.open(os.getenv("BODY"), "r"))
local body = f:read("*a")
f:close()
local token = os.getenv("TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
wrk.body = body

local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("id", #threads) end
function init(args) errors = 0; non200 = 0; sample = ""; math.randomseed(os.time() * 100 + (id or 0)) end

-- FRESH_PHONE=1: every request names another customer (a random mobile
-- number in place of the body's +86 138 0000 0000), as intake sees in life.
if os.getenv("FRESH_PHONE") == "1" then
  function request()
    local phone = string.format("+86 139 %04d %04d", math.random(0, 9999), math.random(0, 9999))
    return wrk.format(nil, nil, nil, (body:gsub("%+86 138 0000 0000", phone)))
  end
end
function response(status, headers, resp)
  if status ~= 200 then non200 = non200 + 1 end
  if resp:find('"errors"', 1, true) then
    errors = errors + 1
    if sample == "" then sample = resp:sub(1, 300) end
  end
end
function done(summary, latency, requests)
  local e, n, s = 0, 0, ""
  for _, t in ipairs(threads) do
    e = e + t:get("errors"); n = n + t:get("non200")
    if s == "" then s = t:get("sample") end
  end
  local se = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"errors":%d,"non200":%d,"socket_errors":%d,' ..
    '"mean_ms":%.3f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"sample":"%s"}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), e, n,
    se.connect + se.read + se.write + se.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, (s:gsub('[%c"\\]', ' ')) ))
end
