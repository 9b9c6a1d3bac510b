-- pace-state.lua: shared by acquire.lua, succeeded.lua and throttled.lua (scripts.ts puts it in front
-- of each). One (transport, destination) pace is one hash; times are ms on the Redis clock, so every
-- worker on every machine reads the same time.
--
-- Fields:
--   rate    messages per second allowed now
--   tat     theoretical arrival time (GCRA): when the next message is due, ms
--   born    when this pace was created, ms
--   busy    the last time an acquire was refused (demand was above the rate), ms
--   grown   the last time succeeded() looked at growing the rate, ms
--   cut     the last decrease, ms (absent until the first throttle)
--   cuts    how many decreases so far
--   pause   paused until, ms (a stated pause)
--   hit     the last throttle signal, ms;  hit0  the first signal of the current throttle episode, ms
--   okSec, okCur, okPrev   successes in second okSec and in the second before it
--   gSec, gCur, gPrev      acquires granted, the same way
--   thSec, thCur, thPrev   throttle reports, the same way
--   found   1 once a measured throttle (not an outage) showed where the limit is: slow start is over
--   run     the rate the first decrease of a run of decreases (each within 3 coalesce windows of the
--           last) settled on: where sending stood before an outage, not what the outage made of it
--   back    the rate to go back to at the first success after an outage (0: none)

local FIELDS = { 'rate', 'tat', 'born', 'busy', 'grown', 'cut', 'cuts', 'pause', 'hit', 'hit0', 'okSec', 'okCur', 'okPrev', 'gSec', 'gCur', 'gPrev', 'thSec', 'thCur', 'thPrev', 'found', 'run', 'back' }

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end

-- Reads the pace; a missing hash (new, or expired when idle) starts at `start` messages per second.
-- Every field but cut, hit, hit0 and run is written from the start.
local function load_pace(key, now, start)
  local values = redis.call('HMGET', key, unpack(FIELDS))
  local pace = {}
  for index, name in ipairs(FIELDS) do pace[name] = tonumber(values[index]) end
  if pace.rate == nil then
    pace = { rate = start, tat = now, born = now, busy = 0, grown = now, cuts = 0, pause = 0, okSec = 0, okCur = 0, okPrev = 0, gSec = 0, gCur = 0, gPrev = 0, thSec = 0, thCur = 0, thPrev = 0, found = 0, back = 0 }
  end
  return pace
end

-- Writes every field that is set and gives the hash its idle lifetime again; marks the pace as used
-- now in the index (sorted set: member -> last use, ms), dropping members idle past the lifetime.
local function save_pace(key, pace, ttl, index, member, now)
  local flat = {}
  for _, name in ipairs(FIELDS) do
    if pace[name] ~= nil then
      flat[#flat + 1] = name
      flat[#flat + 1] = string.format('%.17g', pace[name])
    end
  end
  redis.call('HSET', key, unpack(flat))
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', index, now, member)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now - ttl)
  redis.call('PEXPIRE', index, ttl)
end

-- Per-second counters: `p`Sec is the second (ms / 1000) of `p`Cur, `p`Prev the count of the second before.
local function count_event(pace, p, now)
  local second = math.floor(now / 1000)
  if pace[p .. 'Sec'] == second then
    pace[p .. 'Cur'] = pace[p .. 'Cur'] + 1
  else
    pace[p .. 'Prev'] = (pace[p .. 'Sec'] == second - 1) and pace[p .. 'Cur'] or 0
    pace[p .. 'Cur'] = 1
    pace[p .. 'Sec'] = second
  end
end

-- Events in the last 1000 ms: this second's count and the part of the previous second's that still
-- lies within them.
local function last_second(pace, p, now)
  local second = math.floor(now / 1000)
  local into = (now - second * 1000) / 1000
  if pace[p .. 'Sec'] == second then return pace[p .. 'Cur'] + pace[p .. 'Prev'] * (1 - into) end
  if pace[p .. 'Sec'] == second - 1 then return pace[p .. 'Cur'] * (1 - into) end
  return 0
end

-- Events in the whole second before this one.
local function previous_second(pace, p, now)
  local second = math.floor(now / 1000)
  if pace[p .. 'Sec'] == second then return pace[p .. 'Prev'] end
  if pace[p .. 'Sec'] == second - 1 then return pace[p .. 'Cur'] end
  return 0
end

-- A new pace starts from what the workers saw the destination take while they sent it unpaced:
-- each adds its own count (times the decrease factor, as the first cut would) in the pace's first
-- `coalesce` ms, once.
local function add_seen(pace, seen, decrease, coalesce, ceiling, now)
  if seen > 0 and now > pace.born and now - pace.born < coalesce then pace.rate = math.min(ceiling, pace.rate + seen * decrease) end
end
