-- inference-pam: migrate one credential from schema 1 (AAD = name) to schema 2 (AAD = name and version).
-- Run by `pamctl credential migrate`, which holds the key: it decrypted the schema-1 ciphertext of the
-- current version and re-encrypted it for that version.
-- KEYS[1]  pam:cred:{<name>}
-- ARGV[1]  the current version the caller read
-- ARGV[2]  the schema-1 ciphertext it read from 'v:<current>' (compare-and-set: nothing changed since)
-- ARGV[3]  the schema-2 ciphertext of the same secret, written to 'enc:<current>'
-- ARGV[4]  credential name (published on the invalidation channel)
-- ARGV[5]  invalidation channel
-- 'v:<current>' stays for runners not yet upgraded (schema-2 runners never read it); the next write
-- removes it. A retained previous version's schema-1 ciphertext is dropped now.
if redis.call('HGET', KEYS[1], 'current') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'v:' .. ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('STALE the credential changed during the migration; run it again')
end
redis.call('HSET', KEYS[1], 'enc:' .. ARGV[1], ARGV[3])
local prev = redis.call('HGET', KEYS[1], 'prev')
if prev and prev ~= ARGV[1] then
  redis.call('HDEL', KEYS[1], 'v:' .. prev)
end
redis.call('PUBLISH', ARGV[5], ARGV[4])
return 1
