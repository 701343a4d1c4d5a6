-- The audit archiver's lease (pam-record, StreamArchiver): one archiver per stream at a time.
-- KEYS[1] lease key (string, PX ttl), KEYS[2] fencing counter (string, INCR)
-- ARGV[1] the caller's current token ('' when it holds none), ARGV[2] owner name, ARGV[3] ttl ms
-- Returns the caller's token (renewed or new), or nil when another archiver holds the lease.
-- A new lease takes the next fencing number: a holder that was paused past its ttl finds its
-- token replaced and every commit it still attempts refused (archive_commit.lua).
local cur = redis.call('GET', KEYS[1])
if cur then
  if cur == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return cur
  end
  return nil
end
local fence = redis.call('INCR', KEYS[2])
local token = fence .. ':' .. ARGV[2]
redis.call('SET', KEYS[1], token, 'PX', ARGV[3])
return token
