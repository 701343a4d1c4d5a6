-- inference-pam: store a new version of an upstream credential (pam-auth credential store, schema 2).
-- KEYS[1]  pam:cred:{<name>}  (one hash per credential; the hash tag keeps it on one Cluster slot)
-- ARGV[1]  AES-256-GCM ciphertext of the secret for version ARGV[8] + 1 (base64 of nonce || ciphertext || tag;
--          the associated data binds name and version, so the caller encrypts for the version it expects to write)
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  overlap window in milliseconds during which the previous version stays valid (0 = none)
-- ARGV[4]  fingerprint of the encryption key (refuse to mix keys in one credential)
-- ARGV[5]  credential name (published on the invalidation channel)
-- ARGV[6]  invalidation channel
-- ARGV[7]  'set' (create or replace) or 'rotate' (the credential must exist)
-- ARGV[8]  the current version the caller read (0 = none); another writer got in between: STALE, the caller retries
-- Returns the new version number.
-- Only the current version's ciphertext is ever kept: the previous version keeps its number, creation
-- time and overlap end for operators, but nothing that could be made current again.
local cur = tonumber(redis.call('HGET', KEYS[1], 'current') or '0')
if cur ~= tonumber(ARGV[8]) then
  return redis.error_reply('STALE the credential changed while it was being written; retry')
end
if ARGV[7] == 'rotate' and cur == 0 then
  return redis.error_reply('NOCRED credential does not exist; use set first')
end
local kid = redis.call('HGET', KEYS[1], 'key_id')
if kid and kid ~= ARGV[4] then
  return redis.error_reply('WRONGKEY credential was stored with a different PAM_CREDENTIAL_KEY')
end
local prev = tonumber(redis.call('HGET', KEYS[1], 'prev') or '0')
if prev > 0 then
  -- 'v:' is the schema-1 ciphertext field (kept by a migration for runners not yet upgraded)
  redis.call('HDEL', KEYS[1], 'v:' .. prev, 'enc:' .. prev, 'at:' .. prev, 'prev', 'prev_until')
end
local nv = cur + 1
redis.call('HSET', KEYS[1], 'enc:' .. nv, ARGV[1], 'at:' .. nv, ARGV[2], 'current', nv, 'key_id', ARGV[4])
if cur > 0 then
  redis.call('HDEL', KEYS[1], 'enc:' .. cur, 'v:' .. cur)
  if tonumber(ARGV[3]) > 0 then
    redis.call('HSET', KEYS[1], 'prev', cur, 'prev_until', tonumber(ARGV[2]) + tonumber(ARGV[3]))
  else
    redis.call('HDEL', KEYS[1], 'at:' .. cur)
  end
end
redis.call('PUBLISH', ARGV[6], ARGV[5])
return nv
