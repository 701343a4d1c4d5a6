-- inference-pam: take back an approval just opened by approval_admit.lua when the rest of the hold could not be
-- written (the reviewers' index is on another slot, so it cannot be in the same script). Only while it is still
-- pending and undecided: a hold answered 503 must leave nothing behind that a reviewer could approve.
-- KEYS[1]  pam:approval:{<p>}:a:<id>   KEYS[2]  pam:approval:{<p>}:fp:<fp>   KEYS[3]  pam:approval:{<p>}:open
-- ARGV[1]  the approval id
-- Returns 1 if discarded, 0 if it had moved on (decided, joined by nobody can tell: kept).
local a = redis.call('HMGET', KEYS[1], 'state', 'approvals')
if a[1] ~= 'pending' or a[2] ~= '[]' then
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
