-- wrk script for the appliance load benchmark: one request in LOGIN_EVERY (default 1000)
-- is a sign-in (argon2id), the others list the user's projects with the latest access
-- token (BENCH_TOKEN, from a sign-in made before the run, to begin with). Prints
-- p50/p95/p99 and errors as one JSON line.
local email = os.getenv("BENCH_EMAIL") or "bench@example.org"
local password = os.getenv("BENCH_PASSWORD") or "laminar-wake-2026"
local login_every = tonumber(os.getenv("LOGIN_EVERY") or "1000")
local login_body = string.format('{"email":"%s","password":"%s"}', email, password)
local token = os.getenv("BENCH_TOKEN")
local n = 0
local logins, lists, bad = 0, 0, 0

request = function()
  n = n + 1
  if token == nil or n % login_every == 0 then
    return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, login_body)
  end
  return wrk.format("GET", "/api/projects", { ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  local t = body and body:match('"token":"([^"]+)"')
  if t then token = t; logins = logins + 1 else lists = lists + 1 end
end

dofile("bench/report.lua")
