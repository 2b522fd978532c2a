-- Check-ins from a desk: each request scans a code from the file $CODES
-- (one per line, cycled) with a fresh nonce, so every request is a durable
-- write (the first check-in of a registration, or a remembered "already").
-- With RATE and CONNS set, each connection waits between requests so the
-- whole run keeps RATE requests/s.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  codes = {}
  for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = line
  end
  counter = 0
  prefix = (os.getenv("RUN") or "run") .. "-t" .. tid .. "-"
  token = os.getenv("DESK_TOKEN")
end

function request()
  counter = counter + 1
  local code = codes[(counter * 7919 + tid) % #codes + 1]
  local body = string.format('{"code":"%s","nonce":"%s%d"}', code, prefix, counter)
  return wrk.format("POST", "/api/checkins",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end

local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")
if rate > 0 then
  function delay()
    return conns * 1000 / rate
  end
end
