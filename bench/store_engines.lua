-- One route of bench/store_engines.ts under wrk, counting every answer by status and error code
-- (the "code" field of the JSON error body, else its "error"), so a bench that saw failures says
-- which ones.
-- BENCH_MODE: "get" (GET BENCH_PATH with BENCH_AUTH as the Authorization header), "post" (POST
-- BENCH_BODY to BENCH_PATH), or "refresh" (each thread its own rotation chain: one unspent
-- refresh token per thread from BENCH_REFRESH_TOKENS, comma-separated; presenting a spent token
-- would end the session, so the chain follows each answer's new token).
-- done() prints `BENCH_STATUS ok=N bad=N first_bad=...` (bench/wrk.ts reads it) and
-- `BENCH_CODES 200=N,503:busy=N,...`.

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local status = require("status")

local mode = os.getenv("BENCH_MODE") or "get"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY") or "{}"
local auth = os.getenv("BENCH_AUTH") or ""
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = t
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  if mode == "refresh" then
    local first = tokens[counter]
    if first == nil then
      error("BENCH_REFRESH_TOKENS has no token for thread " .. counter)
    end
    thread:set("token", first)
  end
  table.insert(threads, thread)
end

function init(args)
  status.reset()
  codes = {}
end

function request()
  if mode == "refresh" then
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" },
      '{"refresh_token":"' .. token .. '"}')
  elseif mode == "post" then
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
  end
  return wrk.format("GET", path, { ["Authorization"] = auth })
end

function response(code, headers, text)
  local good = code == 200
  if good and mode == "refresh" then
    local nxt = string.match(text, '"refresh_token":"([A-Za-z0-9_-]+)"')
    if nxt then token = nxt else good = false end
  end
  local key = tostring(code)
  if not good then
    key = key .. ":" ..
      (string.match(text, '"code":"([%w_]+)"') or string.match(text, '"error":"([%w_]+)"') or "-")
  end
  codes[key] = (codes[key] or 0) + 1
  status.count(good, code, text)
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("codes") or {}) do
      all[key] = (all[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(all) do parts[#parts + 1] = key .. "=" .. n end
  table.sort(parts)
  status.report(threads)
  io.write("BENCH_CODES " .. table.concat(parts, ",") .. "\n")
end
