-- inference-pam: what a held call may do with its approvals (pam-approval), decided atomically: use an
-- approved approval exactly once, join a pending one, or open a new one within the principal's cap.
-- Every key is one principal's (hash tag = principal tag), so this runs unchanged on Redis Cluster.
-- KEYS[1]  pam:approval:{<p>}:a:<id>   the approval the call names (X-PAM-Approval), or the one the fingerprint
--                                      index pointed at when the caller read it; = KEYS[4] when there is none
-- KEYS[2]  pam:approval:{<p>}:fp:<fp>  the caller's fingerprint index (string: the approval id of this call)
-- KEYS[3]  pam:approval:{<p>}:open     the caller's open approvals (zset: id -> expires_ms)
-- KEYS[4]  pam:approval:{<p>}:a:<new>  the approval to create if one is opened
-- ARGV[1]  mode: 'named' (X-PAM-Approval: <id>), 'fp' (by fingerprint), 'new' (X-PAM-Approval: new)
-- ARGV[2]  fp/new: the id the caller read from KEYS[2] ('' = none); the index moved meanwhile: STALE, the caller retries
-- ARGV[3]  the caller's principal key (issuer "\n" subject)
-- ARGV[4]  the call's fingerprint
-- ARGV[5]  the new approval's id
-- ARGV[6]  ttl (ms): how long the new approval can be decided and used
-- ARGV[7]  keep (ms): how long it stays readable after that (status, replay refusal)
-- ARGV[8]  the principal's cap of open approvals
-- ARGV[9]  '1': the new id is in pam:{approvals}:opening already (approval_index.lua 'open'), or this runner does not
--          record; '0': it is not, so a new approval is not opened (OPEN_FIRST: the caller lists the id there, retries)
-- ARGV[10..] field, value pairs of the new approval (the parked call)
-- Returns {verdict, id, state, expires_ms, approvals_json, held_request_id}; held_request_id is the request id of the
-- call that opened the approval (for the audit trail; '' when unknown); verdicts:
--   CONSUMED  approved, unused, unexpired, same principal and fingerprint: now used (the call runs)
--   JOINED    pending, same principal and fingerprint: the call waits on it (never a second approval)
--   CREATED   a new pending approval
--   DENIED / USED / EXPIRED / MISMATCH (other fingerprint) / NOT_YOURS (other principal) / NOT_FOUND / LIMIT / STALE
--   OPEN_FIRST  a new approval is due (within the cap) and ARGV[9] is '0': nothing of it was written
-- Why OPEN_FIRST: the audit trail's repair sweep finds an approval whose runner died before writing its 'held' event
-- through pam:{approvals}:opening, which is on another slot; listing the id there before this script creates it means a
-- crash at any point leaves either nothing or an approval the sweep finds. Repeats that join or use an approval (the
-- common case) never need it, so the caller lists the id only when this script asks.
-- Time is Redis' own clock (TIME), so runners with skewed clocks agree on expiry.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]

local held = ''
local function reply(verdict, id, state, expires, approvals)
  return {verdict, id or '', state or '', tostring(expires or 0), approvals or '[]', held}
end

local function consume(key, id, expires)
  redis.call('HSET', key, 'state', 'used', 'used_ms', tostring(now))
  redis.call('ZREM', KEYS[3], id)
  return reply('CONSUMED', id, 'used', expires, redis.call('HGET', key, 'approvals'))
end

local a = redis.call('HMGET', KEYS[1], 'id', 'state', 'principal', 'fingerprint', 'expires_ms', 'request_id')
local id, state, principal, fp, expires = a[1], a[2], a[3], a[4], tonumber(a[5] or '0')
if principal == ARGV[3] then
  held = a[6] or ''
end

if mode == 'named' then
  if not id then
    return reply('NOT_FOUND', '', '', 0)
  end
  if principal ~= ARGV[3] then
    return reply('NOT_YOURS', id, '', 0)
  end
  if state == 'used' then
    return reply('USED', id, state, expires)
  end
  if state == 'denied' then
    return reply('DENIED', id, state, expires)
  end
  if now >= expires then
    return reply('EXPIRED', id, state, expires)
  end
  if fp ~= ARGV[4] then
    return reply('MISMATCH', id, state, expires)
  end
  if state == 'approved' then
    return consume(KEYS[1], id, expires)
  end
  return reply('JOINED', id, state, expires)
end

local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[2] then
  return reply('STALE', current, '', 0)
end
if current ~= '' and id == current and principal == ARGV[3] and fp == ARGV[4] and now < expires then
  if state == 'pending' then
    return reply('JOINED', id, state, expires)
  end
  if state == 'approved' then
    return consume(KEYS[1], id, expires)
  end
  if mode == 'fp' and state == 'denied' then
    return reply('DENIED', id, state, expires)
  end
  if mode == 'fp' and state == 'used' then
    return reply('USED', id, state, expires)
  end
end

-- open a new approval, within the principal's cap (expired approvals no longer count)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then
  return reply('LIMIT', '', '', 0)
end
if ARGV[9] ~= '1' then
  return reply('OPEN_FIRST', '', '', 0)
end
local new = ARGV[5]
local ttl = tonumber(ARGV[6])
local until_ms = now + ttl + tonumber(ARGV[7])
local exp = now + ttl
redis.call('HSET', KEYS[4], unpack(ARGV, 10))
redis.call('HSET', KEYS[4], 'id', new, 'state', 'pending', 'principal', ARGV[3], 'fingerprint', ARGV[4],
  'created_ms', tostring(now), 'expires_ms', tostring(exp), 'approvals', '[]')
redis.call('PEXPIREAT', KEYS[4], until_ms)
redis.call('SET', KEYS[2], new, 'PXAT', until_ms)
redis.call('ZADD', KEYS[3], exp, new)
if redis.call('PTTL', KEYS[3]) < ttl + tonumber(ARGV[7]) then
  redis.call('PEXPIREAT', KEYS[3], until_ms)
end
return reply('CREATED', new, 'pending', exp)
