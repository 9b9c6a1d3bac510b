-- succeeded.lua: a message to this destination was accepted. Counts it (for the delivered rate
-- throttled.lua holds a decrease to) and, at most once a second, grows the rate: while the pace was
-- what held sending back (an acquire was refused since the last look) and no decrease is recent.
-- Until a throttle shows where the limit is, it grows by a factor (slow start, to find the limit in
-- seconds); after that, by a fixed step (additive increase, probing slowly near the limit). The first
-- success after an outage (see throttled.lua) restores the rate from before it at once.
--
-- KEYS[1]  the pace hash of (transport, destination)
-- KEYS[2]  the index of paces (sorted set: member -> last use, ms), for snapshot()
-- ARGV[1]  ceiling, messages per second        ARGV[2]  start rate, messages per second
-- ARGV[3]  increase step, messages per second   ARGV[4]  slow-start factor
-- ARGV[5]  hold after a decrease, ms            ARGV[6]  idle lifetime of the keys, ms
-- ARGV[7]  this pace's member in the index
--
-- Returns the rate now (messages per second, as a string).

local ceiling, start, step, factor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local hold, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
local pace = load_pace(KEYS[1], now, math.min(start, ceiling))
pace.rate = math.min(pace.rate, ceiling)

count_event(pace, 'ok', now)

if pace.back > 0 then
  -- The first success after an outage: the destination was down, not slow; resume where we were.
  pace.rate = math.min(ceiling, math.max(pace.rate, pace.back))
  pace.back = 0
  pace.grown = now
elseif now - pace.grown >= 1000 then
  local held_back = pace.busy >= pace.grown
  local settled = pace.cut == nil or now - pace.cut >= hold
  if held_back and settled and pace.pause <= now then
    if pace.found == 0 then
      pace.rate = math.min(ceiling, pace.rate * factor)
    else
      pace.rate = math.min(ceiling, pace.rate + step)
    end
  end
  pace.grown = now
end

save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[7], now)
return tostring(pace.rate)
