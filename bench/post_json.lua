-- POST a fixed JSON body (BENCH_BODY) to BENCH_PATH under wrk, counting every answer that is
-- not a 200 (done() prints the totals for bench/run.ts). Used for POST /login and baseline B.

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local status = require("status")

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  status.reset()
end

function response(code, headers, body)
  status.count(code == 200, code, body)
end

function done(summary, latency, requests)
  status.report(threads)
end
