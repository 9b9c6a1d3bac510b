-- settle.lua: records how a send ended, only if the entry is still this attempt's `sending` (a late
-- answer from an attempt that lost its job changes nothing). A failure is counted under its reason
-- (code and reply), so the admins' grouping never scans. (Recipients put back to wait for their
-- destination's pace are settled together by put-aside.lua.)
--
-- KEYS[1] the entry's ledger bucket (hash)   KEYS[2] delivery counts (hash)
-- KEYS[3] failed index (sorted set)          KEYS[4] failure details (hash)
-- KEYS[5] failures counted by reason
-- ARGV[1] id          ARGV[2] owner          ARGV[3] new state (sent, deferred, failed)
-- ARGV[4] the entry's new value              ARGV[5] failure JSON ('' for none)
--
-- Returns: 1 when settled, 0 when the entry was not this attempt's any more.

local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
local state, info = string.match(entry, '^([^|]*)|[^|]*|[^|]*|(.*)$')
if state ~= 'sending' or info ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('HINCRBY', KEYS[2], 'sending', -1)
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
if ARGV[3] == 'failed' then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[1]), ARGV[1])
  redis.call('HINCRBY', KEYS[5], cjson.decode(ARGV[5])['reason'], 1)
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[5]) else redis.call('HDEL', KEYS[4], ARGV[1]) end
return 1
