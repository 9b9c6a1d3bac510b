-- acquire.lua: may one message go to this destination now? GCRA on the pace's current rate: each
-- message moves the theoretical arrival time (tat) on by 1000/rate ms; a message may go when tat is
-- at most `tolerance` ms ahead of now.
--
-- KEYS[1]  the pace hash of (transport, destination)
-- KEYS[2]  the index of paces (sorted set: member -> last use, ms), for snapshot()
-- ARGV[1]  ceiling, messages per second        ARGV[2]  start rate, messages per second
-- ARGV[3]  tolerance, ms                        ARGV[4]  idle lifetime of the keys, ms
-- ARGV[5]  this pace's member in the index
--
-- Returns {1, 0} when the message may go now (and counts it), {0, waitMs, rate} when not for waitMs
-- (rate: the pace's messages per second, as text: Redis would truncate a Lua number to an integer).

local ceiling, start, tolerance, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local pace = load_pace(KEYS[1], now, math.min(start, ceiling))
-- A ceiling lowered in the settings applies at once.
pace.rate = math.min(pace.rate, ceiling)

if pace.pause > now then
  pace.busy = now
  save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[5], now)
  return { 0, math.ceil(pace.pause - now), tostring(pace.rate) }
end

local tat = math.max(pace.tat, now)
if tat - now > tolerance then
  pace.busy = now
  save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[5], now)
  return { 0, math.max(1, math.ceil(tat - now - tolerance)), tostring(pace.rate) }
end

pace.tat = tat + 1000 / pace.rate
count_event(pace, 'g', now)
save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[5], now)
return { 1, 0 }
