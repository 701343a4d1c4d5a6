-- inference-pam: claim the approvals the trail's sweep is due to look at, so that one runner at a time writes their
-- events (pam-approval): expiries that fell due ('expired'), and approvals whose opening runner may have died before
-- writing 'held' (the repair). A claim is a lease: the member's score moves to now + lease. The claimant removes the
-- member once the event is handed to its audit trail; a claimant that dies first leaves the member to be claimed again
-- after the lease, and the event is then written again with the same event_id (readers show it once).
-- KEYS[1]  pam:{approvals}:expiries   member = approval id, score = expires_ms (Redis clock) or a lease's end
-- KEYS[2]  pam:{approvals}:opening    member = approval id, score = the end of its grace (Redis clock) or a lease's end
-- ARGV[1]  lease (ms)     ARGV[2]  at most this many claimed per set per call
-- Returns {now_ms, next_score_ms (-1: nothing left in either set), n, n expiry ids..., opening ids...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function claim(key)
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
  for _, id in ipairs(due) do
    redis.call('ZADD', key, now + tonumber(ARGV[1]), id)
  end
  return due
end
local expiries = claim(KEYS[1])
local opening = claim(KEYS[2])
local next = -1
for _, key in ipairs(KEYS) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] and (next < 0 or tonumber(first[2]) < next) then
    next = tonumber(first[2])
  end
end
local out = {tostring(now), string.format('%d', next), tostring(#expiries)}
for _, id in ipairs(expiries) do
  out[#out + 1] = id
end
for _, id in ipairs(opening) do
  out[#out + 1] = id
end
return out
