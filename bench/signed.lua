-- wrk script: replay pre-signed Twilio webhook requests, then print one JSON summary line.
-- Usage: wrk ... -s bench/signed.lua URL -- REQUESTS_FILE
-- REQUESTS_FILE (written by bench/run.py) has one request per line: path TAB signature TAB form body.
local requests = {}
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if path then
      local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
      if signature ~= "" then headers["X-Twilio-Signature"] = signature end
      requests[#requests + 1] = wrk.format("POST", path, headers, body)
    end
  end
  if #requests == 0 then error("no requests in " .. tostring(args[1])) end
  index = math.random(#requests) - 1
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
