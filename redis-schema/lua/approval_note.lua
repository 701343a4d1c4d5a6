-- inference-pam: keep the outcome of one webhook notification with its approval (pam-approval), shown to
-- reviewers. Only while the approval exists: a late delivery result must not recreate a deleted approval
-- (a hash without its TTL).
-- KEYS[1]  pam:approval:{<p>}:a:<id>     ARGV[1]  field (notify:<webhook>)     ARGV[2]  the outcome
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
