-- inference-pam: the cross-principal indexes of approvals (pam-approval). All three keys share the {approvals} hash tag:
-- one slot, so each call is one atomic step on Redis Cluster too. They are on another slot than the approvals
-- themselves (pam:approval:{<p>}:…), so they are written in their own steps, ordered so that a runner that dies between
-- any two leaves either nothing or a state the expiry sweep completes (docs/plugins/pam-approval.md, "Crash safety").
-- KEYS[1]  pam:{approvals}:pending    the reviewers' index (member = id, score = expires_ms)
-- KEYS[2]  pam:{approvals}:expiries   approvals whose expiry is to be recorded (member = id, score = expires_ms)
-- KEYS[3]  pam:{approvals}:opening    approvals being opened whose 'held' event is not yet known to be in the trail
--                                     (member = id, score = when the sweep is to look at it: Redis now + grace)
-- ARGV[1]  the step:
--   'open'    ARGV[2] a new approval's id, ARGV[3] grace (ms). Before approval_admit.lua may create it (recording
--             runners only). A member whose approval never came to exist is dropped by the sweep, silently.
--   'list'    ARGV[2] the approval id, ARGV[3] its expires_ms (Redis clock), ARGV[4] '1': also add it to KEYS[2],
--             ARGV[5] an id to drop from KEYS[3] ('' none): a new id the admit script did not use (the call joined).
--             ARGV[6] '0': not for reviewers (the sweep repairing an approval already decided), else KEYS[1] too.
--             A joined approval is listed again (idempotent). NX on KEYS[2]: a member the sweep has leased keeps its lease.
--   'settle'  ARGV[2] an id to drop from KEYS[2] ('' none: its approval was used, it will not expire),
--             ARGV[3] an id to drop from KEYS[3] ('' none: its 'held' event is in the trail, or it was never created).
local step = ARGV[1]
if step == 'open' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[3], 'NX', now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
if step == 'list' then
  if ARGV[6] ~= '0' then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  end
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
  end
  if ARGV[5] ~= '' then
    redis.call('ZREM', KEYS[3], ARGV[5])
  end
  return 1
end
if step == 'settle' then
  if ARGV[2] ~= '' then
    redis.call('ZREM', KEYS[2], ARGV[2])
  end
  if ARGV[3] ~= '' then
    redis.call('ZREM', KEYS[3], ARGV[3])
  end
  return 1
end
return redis.error_reply('approval_index: unknown step ' .. tostring(step))
