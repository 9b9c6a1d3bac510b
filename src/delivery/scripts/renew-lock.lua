-- renew-lock.lua: renews (or, with a TTL of 0, releases) a lock, only if the caller still holds it.
--
-- KEYS[1] the lock     ARGV[1] the holder's token     ARGV[2] new TTL in ms (0: release)
--
-- Returns: 1 when renewed or released, 0 when the lock is not the caller's (any more).

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
