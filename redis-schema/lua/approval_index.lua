-- inference-pam: list a new or joined approval for reviewers and, on a runner that records (pam-record), for the
-- expiry sweep (pam-approval). Both keys share the {approvals} hash tag: one slot, one atomic step.
-- KEYS[1]  pam:{approvals}:pending    the reviewers' index (member = id, score = expires_ms)
-- KEYS[2]  pam:{approvals}:expiries   approvals whose expiry is to be recorded (member = id, score = expires_ms)
-- ARGV[1]  the approval id     ARGV[2]  expires_ms (Redis clock)     ARGV[3]  '1': also add it to KEYS[2]
-- A joined approval is listed again (idempotent). NX on KEYS[2]: a member the sweep has leased keeps its lease.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
end
return 1
