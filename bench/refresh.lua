-- POST /refresh under wrk, one connection per thread, each thread its own rotation chain:
-- setup() hands each thread one unspent refresh token (from BENCH_REFRESH_TOKENS, comma-separated,
-- one per thread, obtained by bench/run.ts with one /login each); request() presents the
-- thread's current token; response() keeps the new one for the next request. Presenting a spent
-- token would revoke the session, so any non-200 is counted and reported by done().

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
  ok = 0
  bad = 0
  first_bad = ""
end

function request()
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  local nxt = nil
  if status == 200 then
    nxt = string.match(body, '"refresh_token":"([A-Za-z0-9_-]+)"')
  end
  if nxt then
    token = nxt
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.gsub(string.sub(body, 1, 160), "%s", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_bad = total_bad + (thread:get("bad") or 0)
    local fb = thread:get("first_bad") or ""
    if first == "" and fb ~= "" then first = fb end
  end
  io.write(string.format("BENCH_STATUS ok=%d bad=%d first_bad=%s\n", total_ok, total_bad, first))
end
