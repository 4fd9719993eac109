-- POST /refresh under wrk, one connection per thread, each thread its own rotation chain:
-- setup() hands each thread one unspent refresh token (from BENCH_REFRESH_TOKENS, comma-separated,
-- one per thread, obtained by bench/run.ts with one /login each); request() presents the
-- thread's current token; response() keeps the new one for the next request. Presenting a spent
-- token would revoke the session, so any non-200 is counted and reported by done().

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local status = require("status")

local tokens = {}
for t in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = t
end
local path = os.getenv("BENCH_PATH") or "/refresh"
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  local first = tokens[counter]
  if first == nil then
    error("BENCH_REFRESH_TOKENS has no token for thread " .. counter)
  end
  thread:set("token", first)
  table.insert(threads, thread)
end

function init(args)
  status.reset()
end

function request()
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(code, headers, body)
  local nxt = nil
  if code == 200 then
    nxt = string.match(body, '"refresh_token":"([A-Za-z0-9_-]+)"')
  end
  if nxt then token = nxt end
  status.count(nxt ~= nil, code, body)
end

function done(summary, latency, requests)
  status.report(threads)
end
