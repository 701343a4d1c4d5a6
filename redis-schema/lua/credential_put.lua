-- inference-pam: store a new version of an upstream credential (pam-auth credential store).
-- KEYS[1]  pam:cred:{<name>}  (one hash per credential; the hash tag keeps it on one Cluster slot)
-- ARGV[1]  AES-256-GCM ciphertext of the secret (base64 of nonce || ciphertext || tag)
-- ARGV[2]  now, epoch milliseconds
-- ARGV[3]  overlap window in milliseconds during which the previous version stays valid (0 = none)
-- ARGV[4]  fingerprint of the encryption key (refuse to mix keys in one credential)
-- ARGV[5]  credential name (published on the invalidation channel)
-- ARGV[6]  invalidation channel
-- ARGV[7]  'set' (create or replace) or 'rotate' (the credential must exist)
-- Returns the new version number.
local cur = tonumber(redis.call('HGET', KEYS[1], 'current') or '0')
if ARGV[7] == 'rotate' and cur == 0 then
  return redis.error_reply('NOCRED credential does not exist; use set first')
end
local kid = redis.call('HGET', KEYS[1], 'key_id')
if kid and kid ~= ARGV[4] then
  return redis.error_reply('WRONGKEY credential was stored with a different PAM_CREDENTIAL_KEY')
end
-- only one previous version is ever kept: drop the one before it
local prev = tonumber(redis.call('HGET', KEYS[1], 'prev') or '0')
if prev > 0 then
  redis.call('HDEL', KEYS[1], 'v:' .. prev, 'at:' .. prev, 'prev', 'prev_until')
end
local nv = cur + 1
redis.call('HSET', KEYS[1], 'v:' .. nv, ARGV[1], 'at:' .. nv, ARGV[2], 'current', nv, 'key_id', ARGV[4])
if cur > 0 then
  if tonumber(ARGV[3]) > 0 then
    redis.call('HSET', KEYS[1], 'prev', cur, 'prev_until', tonumber(ARGV[2]) + tonumber(ARGV[3]))
  else
    redis.call('HDEL', KEYS[1], 'v:' .. cur, 'at:' .. cur)
  end
end
redis.call('PUBLISH', ARGV[6], ARGV[5])
return nv
