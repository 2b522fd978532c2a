-- Unique sign-ups: every request registers a new user id, so each one is a
-- durable insert (201), never a 409. With RATE and CONNS set, each
-- connection waits between requests so the whole run keeps RATE requests/s.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  counter = 0
  prefix = (os.getenv("RUN") or "run") .. "-t" .. tid .. "-"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"type":"Serverless web project","user_id":"%s%d","user_name":"부하 시험 %d","phone_number":"010-1234-%04d","company_name":"Load Test Inc"}',
    prefix, counter, counter, counter % 10000)
  return wrk.format("POST", "/api/registrations", { ["Content-Type"] = "application/json" }, body)
end

local rate = tonumber(os.getenv("RATE") or "0")
local conns = tonumber(os.getenv("CONNS") or "1")
if rate > 0 then
  function delay()
    return conns * 1000 / rate
  end
end
