-- joined.lua: a worker that sent this destination unpaced learnt that another one started its pace
-- (after a throttle signal of its own): it adds what it saw the destination take in the last second,
-- as a second reporter of the first moments does in throttled.lua. A pace gone or older than the
-- coalesce window is left as it is.
--
-- KEYS[1]  the pace hash of (transport, destination)
-- KEYS[2]  the index of paces (sorted set: member -> last use, ms), for snapshot()
-- ARGV[1]  ceiling, messages per second        ARGV[2]  decrease factor (0..1)
-- ARGV[3]  coalesce window, ms                 ARGV[4]  what this worker saw taken unpaced, per second
-- ARGV[5]  idle lifetime of the keys, ms       ARGV[6]  this pace's member in the index
--
-- Returns the rate now (messages per second, as a string), or '' when there is no pace.

local ceiling, decrease, coalesce, seen, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local now = now_ms()
local pace = load_pace(KEYS[1], now, 0)
add_seen(pace, seen, decrease, coalesce, ceiling, now)
save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[6], now)
return tostring(pace.rate)
