-- inference-pam: claim approvals whose expiry is due, so that exactly one runner records each expiry (pam-approval).
-- A claim is a lease: the member's score moves to now + lease. The claimant removes the member once the event is
-- handed to its audit trail (ZREM); a claimant that dies first leaves the member to be claimed again after the lease.
-- KEYS[1]  pam:{approvals}:expiries   member = approval id, score = expires_ms (Redis clock) or a lease's end
-- ARGV[1]  lease (ms)     ARGV[2]  at most this many claimed per call
-- Returns {now_ms, next_score_ms (-1: nothing left), id...}: the claimed ids, and when the next member falls due.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local out = {tostring(now), first[2] or '-1'}
for _, id in ipairs(due) do
  out[#out + 1] = id
end
return out
