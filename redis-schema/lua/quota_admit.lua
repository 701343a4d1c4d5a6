-- inference-pam: admit one call against the quotas that apply to it (pam-quota, request phase).
-- KEYS[i]      one counter hash per applicable limit, all of one principal, so all in one hash tag:
--              pam:quota:{<principal>}:<limit id>:<window seconds>[:m:<model digest>]
-- ARGV[3i-2]   window length of KEYS[i] in milliseconds
-- ARGV[3i-1]   request cap of KEYS[i] (-1 = none)
-- ARGV[3i]     token cap of KEYS[i] (-1 = none)
-- Fields: w = start of the window the counts belong to (epoch ms, Redis server time), r = requests
-- admitted in it, t = tokens charged in it (by quota_charge.lua). Fixed windows aligned to the epoch:
-- the counts of an older window are dropped the first time a call sees a newer one.
-- Returns {1, remaining requests of the tightest request cap (-1 = none)} when the call is admitted
-- and counted in every KEYS[i]; {0, i, milliseconds until KEYS[i]'s window ends, 'requests'|'tokens'}
-- when a cap is reached: nothing is counted then, and i is the refusing limit that resets last.
-- Time comes from Redis (TIME), so runners with skewed clocks agree on the windows.
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local n = #KEYS
local start, req, current = {}, {}, {}
local refused, wait, kind = 0, -1, ''
for i = 1, n do
  local w = tonumber(ARGV[3 * i - 2])
  local max_r = tonumber(ARGV[3 * i - 1])
  local max_t = tonumber(ARGV[3 * i])
  local s = now - (now % w)
  start[i] = s
  local h = redis.call('HMGET', KEYS[i], 'w', 'r', 't')
  local r, t = 0, 0
  current[i] = tonumber(h[1]) == s
  if current[i] then
    r = tonumber(h[2]) or 0
    t = tonumber(h[3]) or 0
  end
  req[i] = r
  local over_r = max_r >= 0 and r >= max_r
  local over_t = max_t >= 0 and t >= max_t
  if over_r or over_t then
    local left = s + w - now
    if left > wait then
      refused, wait = i, left
      kind = over_r and 'requests' or 'tokens'
    end
  end
end
if refused > 0 then
  return {0, refused, wait, kind}
end
local remaining = -1
for i = 1, n do
  local w = tonumber(ARGV[3 * i - 2])
  local max_r = tonumber(ARGV[3 * i - 1])
  if not current[i] then
    -- first count of this window (or of this key): start the window afresh
    redis.call('HSET', KEYS[i], 'w', start[i], 'r', 1, 't', 0)
    redis.call('PEXPIREAT', KEYS[i], start[i] + w)
  else
    redis.call('HINCRBY', KEYS[i], 'r', 1)
  end
  if max_r >= 0 and (remaining < 0 or max_r - req[i] - 1 < remaining) then
    remaining = max_r - req[i] - 1
  end
end
return {1, remaining}
