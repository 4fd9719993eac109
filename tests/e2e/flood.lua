-- wrk script for tests/e2e/flood_test.ts: POST a fixed JSON body (FLOOD_BODY) to /login from
-- one client (the X-Forwarded-For header is passed with -H), and count the answers by status
-- class; done() prints "FLOOD_STATUS 2xx=.. 4xx=.. 429=.. 5xx=.. other=..".

wrk.method = "POST"
wrk.path = "/login"
wrk.body = os.getenv("FLOOD_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  c2, c4, c429, c5, other = 0, 0, 0, 0, 0
end

function response(status, headers, body)
  if status == 429 then c429 = c429 + 1 end
  if status >= 200 and status < 300 then c2 = c2 + 1
  elseif status >= 400 and status < 500 then c4 = c4 + 1
  elseif status >= 500 then c5 = c5 + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local t = { 0, 0, 0, 0, 0 }
  for _, thread in ipairs(threads) do
    t[1] = t[1] + (thread:get("c2") or 0)
    t[2] = t[2] + (thread:get("c4") or 0)
    t[3] = t[3] + (thread:get("c429") or 0)
    t[4] = t[4] + (thread:get("c5") or 0)
    t[5] = t[5] + (thread:get("other") or 0)
  end
  io.write(string.format("FLOOD_STATUS 2xx=%d 4xx=%d 429=%d 5xx=%d other=%d\n", t[1], t[2], t[3], t[4], t[5]))
end
