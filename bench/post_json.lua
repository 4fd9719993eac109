-- POST a fixed JSON body (BENCH_BODY) to BENCH_PATH under wrk, counting every answer that is
-- not a 200 (done() prints the totals for bench/run.ts). Used for POST /login and baseline B.

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  bad = 0
  first_bad = ""
end

function response(status, headers, body)
  if status == 200 then
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
