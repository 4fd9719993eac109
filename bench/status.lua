-- What every bench script counts, in one place: each thread's good and bad answers and the first
-- bad one (status and the start of its body), and the totals done() prints for bench/wrk.ts as
-- `BENCH_STATUS ok=N bad=N first_bad=...`. A script loads it with the two lines at its top
-- (wrk runs each script in one Lua state per thread, and each state requires this file).

local status = {}

-- A thread's counters start at zero: globals of its Lua state, so done() reads them by name.
function status.reset()
  ok = 0
  bad = 0
  first_bad = ""
end

-- Counts one answer.
function status.count(good, code, body)
  if good then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = code .. " " .. string.gsub(string.sub(body, 1, 160), "%s", " ")
    end
  end
end

-- Prints the totals over every thread.
function status.report(threads)
  local total_ok, total_bad, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_bad = total_bad + (thread:get("bad") or 0)
    local fb = thread:get("first_bad") or ""
    if first == "" and fb ~= "" then first = fb end
  end
  io.write(string.format("BENCH_STATUS ok=%d bad=%d first_bad=%s\n", total_ok, total_bad, first))
end

return status
