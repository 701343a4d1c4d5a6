-- Commits an archived segment (pam-record, StreamArchiver), after its file is durable:
-- moves the archived cursor forward and trims the stream up to it, never past it.
-- KEYS[1] lease key, KEYS[2] archived cursor (string: a stream id), KEYS[3] the audit stream
-- ARGV[1] the caller's lease token, ARGV[2] the id of the last entry in the segment
-- Returns 1, or 0 when the caller no longer holds the lease (nothing changed).
-- XTRIM MINID keeps ARGV[2] itself: the stream still starts with the last archived entry.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local cur = redis.call('GET', KEYS[2])
local nms, nseq = parts(ARGV[2])
if not nms then
  return redis.error_reply('not a stream id')
end
if cur then
  local cms, cseq = parts(cur)
  if cms and (cms > nms or (cms == nms and cseq >= nseq)) then
    return 1
  end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[2])
return 1
