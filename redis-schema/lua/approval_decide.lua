-- inference-pam: one reviewer's decision on an approval (pam-approval), checked and applied atomically.
-- KEYS[1]  pam:approval:{<p>}:a:<id>   the approval
-- KEYS[2]  pam:approval:{<p>}:open     the requester's open approvals (a denied approval leaves them)
-- ARGV[1]  'approve' or 'deny'
-- ARGV[2]  the reviewer's principal key (issuer "\n" subject)
-- ARGV[3]  the reviewer's subject       ARGV[4]  the reviewer's name (username, for people)
-- ARGV[5]  the reason (mandatory for a denial; shown to the requester)
-- ARGV[6]  the reviewer's groups, JSON array, from the token verified for this very request
-- ARGV[7]  the pub/sub channel that announces decisions to every runner ('' = none)
-- Returns {result, state, approvals_so_far, required}; results:
--   APPROVED (the last approval needed: the call may run), RECORDED (an approval, more are needed), DENIED,
--   NOT_FOUND, EXPIRED, DECIDED (already approved, denied or used), SELF (the requester cannot decide their own call),
--   TWICE (this reviewer already approved), NOT_ELIGIBLE (in none of the route's reviewer groups)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local a = redis.call('HMGET', KEYS[1], 'id', 'state', 'principal', 'expires_ms', 'approvals', 'required', 'reviewer_groups')
local id, state, principal, expires, approvals, required = a[1], a[2], a[3], tonumber(a[4] or '0'), a[5], tonumber(a[6] or '1')
if not id then
  return {'NOT_FOUND', '', '0', '0'}
end
local list = cjson.decode(approvals or '[]')
local function reply(result, st)
  return {result, st, tostring(#list), tostring(required)}
end
if state ~= 'pending' then
  return reply('DECIDED', state)
end
if now >= expires then
  return reply('EXPIRED', 'expired')
end
if principal == ARGV[2] then
  return reply('SELF', state)
end
local eligible = false
local mine = {}
for _, g in ipairs(cjson.decode(ARGV[6])) do
  mine[g] = true
end
for _, g in ipairs(cjson.decode(a[7] or '[]')) do
  if mine[g] then
    eligible = true
  end
end
if not eligible then
  return reply('NOT_ELIGIBLE', state)
end
for _, x in ipairs(list) do
  if x['principal'] == ARGV[2] then
    return reply('TWICE', state)
  end
end
local function announce(st)
  if ARGV[7] ~= '' then
    redis.call('PUBLISH', ARGV[7], id .. ' ' .. st)
  end
end
if ARGV[1] == 'deny' then
  redis.call('HSET', KEYS[1], 'state', 'denied', 'decided_ms', tostring(now), 'denied_by', ARGV[4],
    'denied_by_sub', ARGV[3], 'deny_reason', ARGV[5])
  redis.call('ZREM', KEYS[2], id)
  announce('denied')
  return reply('DENIED', 'denied')
end
table.insert(list, {principal = ARGV[2], sub = ARGV[3], name = ARGV[4], reason = ARGV[5], at_ms = now})
redis.call('HSET', KEYS[1], 'approvals', cjson.encode(list))
if #list >= required then
  redis.call('HSET', KEYS[1], 'state', 'approved', 'decided_ms', tostring(now))
  announce('approved')
  return reply('APPROVED', 'approved')
end
return reply('RECORDED', state)
