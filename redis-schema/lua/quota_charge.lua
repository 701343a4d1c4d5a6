-- inference-pam: charge the tokens of one answered call to its token quotas (pam-quota, response phase).
-- KEYS[i]      the counter hashes of the call's token-capped limits (see quota_admit.lua), one hash tag
-- ARGV[1]      tokens to charge (a non-negative integer)
-- ARGV[1+i]    window length of KEYS[i] in milliseconds
-- The tokens go to the window that is current now (Redis server time): a response that arrives
-- after its window ended counts against the next one. Returns the number of counters charged.
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local tokens = tonumber(ARGV[1])
for i = 1, #KEYS do
  local w = tonumber(ARGV[1 + i])
  local s = now - (now % w)
  if tonumber(redis.call('HGET', KEYS[i], 'w')) == s then
    redis.call('HINCRBY', KEYS[i], 't', tokens)
  else
    redis.call('HSET', KEYS[i], 'w', s, 'r', 0, 't', tokens)
    redis.call('PEXPIREAT', KEYS[i], s + w)
  end
end
return #KEYS
