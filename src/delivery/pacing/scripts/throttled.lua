-- throttled.lua: the destination asked us to slow down. Multiplies the rate (or, when lower, what
-- was really sent in the last second) by the decrease factor, and holds it to what the destination
-- actually accepted lately when that is lower still. Reports within
-- `coalesce` ms of a decrease belong to the same burst (sends already on the wire, or the rest of
-- the relay's counting window) and do not cut again. A stated pause blocks the destination until then.
-- A second of demand with no success at all is an outage: the rate falls to the floor (a probe a
-- second), and where the run of decreases began is kept in `back` for the first success.
--
-- KEYS[1]  the pace hash of (transport, destination)
-- KEYS[2]  the index of paces (sorted set: member -> last use, ms), for snapshot()
-- ARGV[1]  ceiling, messages per second        ARGV[2]  start rate, messages per second
-- ARGV[3]  decrease factor (0..1)              ARGV[4]  floor, messages per second
-- ARGV[5]  coalesce window, ms                 ARGV[6]  stated pause, ms (0: none)
-- ARGV[7]  a throttle episode ends after this long without signals, ms
-- ARGV[8]  idle lifetime of the keys, ms       ARGV[9]  this pace's member in the index
-- ARGV[10] share of what was just delivered a cut keeps at least (0..1)
-- ARGV[11] what the reporting worker saw the destination take unpaced in the last second (0: nothing)
-- ARGV[12] 1 when the signal is inferred (a connection closed under a message, not a reply): it
--          only cuts as a measured cut, to what the destination took, never on a young pace
--
-- Returns {decreased (1 or 0), rate now (string), paused until (ms, 0 when not paused)}.

local ceiling, start, decrease, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local coalesce, pause_ms, episode, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local keep, seen, inferred = tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12] == '1'
local now = now_ms()
local pace = load_pace(KEYS[1], now, math.min(math.max(start, seen), ceiling))
-- A destination sent unpaced by several workers: each reports what it alone saw taken, once, in the
-- first moments of the pace (here, or in joined.lua); together they are where sending stood.
add_seen(pace, seen, decrease, coalesce, ceiling, now)
pace.rate = math.min(pace.rate, ceiling)

if pace.hit == nil or now - pace.hit > episode then pace.hit0 = now end
pace.hit = now
count_event(pace, 'th', now)

local decreased = 0
-- A pace is only measured after 1.5 s: every worker needs a moment to learn that a destination it
-- sent unpaced is paced now, and until then its successes are not counted here.
local measured = now - pace.born >= 1500 and now - pace.pause >= 1000 and previous_second(pace, 'g', now) > 0
if (pace.cut == nil or now - pace.cut >= coalesce) and (measured or not inferred) then
  local target = pace.rate * decrease
  -- After a second of sending (messages went out in the second before this one, and no pause in
  -- it), the last second says what we really sent and what the destination took. Cut from what
  -- was sent when that was below the rate (no acquire was refused: the workers, short of work or of
  -- CPU, did not use the rate), and never stay above what was taken (a relay whose limit fell from
  -- 50 to 20 is matched in a decrease or two, not in five or more of 0.9).
  local outage = false
  if measured then
    -- What was taken in the last 1000 ms (a share of the previous second counted as if its
    -- successes were spread evenly), or in the whole previous second when that is lower and had
    -- refusals too (so its count is the destination's limit, not our demand): a relay counting in
    -- windows accepts in bursts at their starts, which the share misjudges. Only a previous second
    -- that began 500 ms or more after the pace did: until every worker has learnt of a new pace
    -- (within 250 ms) some count their successes as unpaced, and such a second's count is short
    -- (measured: a 60/s destination whose pace counted 30 of them was cut to 30/s, and climbed
    -- back at +1/s for the rest of the edition).
    local delivered = last_second(pace, 'ok', now)
    local previous_start = (math.floor(now / 1000) - 1) * 1000
    if previous_second(pace, 'th', now) > 0 and previous_start >= pace.born + 500 then
      delivered = math.min(delivered, previous_second(pace, 'ok', now))
    end
    if now - pace.busy > 1000 then target = math.min(target, last_second(pace, 'g', now) * decrease) end
    target = math.min(target, delivered)
    -- What the destination took in the last second is its limit (it refused the rest): settle just
    -- under it, not a whole decrease below, where the additive increase would take seconds to climb.
    target = math.max(target, delivered * keep)
    outage = delivered < 1
  end
  local first_of_run = pace.cut == nil or now - pace.cut > 3 * coalesce
  local before = pace.rate
  -- The floor keeps a trickle going; a ceiling below it (an operator's choice) still wins.
  pace.rate = math.min(ceiling, math.max(floor, target))
  -- An outage that begins a run: where sending stood is the rate before it (cut as any first
  -- signal is), not the floor it falls to.
  if first_of_run or pace.run == nil then pace.run = outage and math.min(ceiling, math.max(floor, before * decrease)) or pace.rate end
  if outage then
    -- Nothing got through in a whole second of demand: an outage (connections refused, everything
    -- refused), not a limit. The floor sends one probe a second until it ends; the first success
    -- goes back to where this run of decreases began (succeeded.lua), not up from the floor.
    pace.back = math.max(pace.back, pace.run)
  elseif measured then
    pace.found = 1
  end
  pace.cut = now
  pace.cuts = pace.cuts + 1
  decreased = 1
end

if pause_ms > 0 then pace.pause = math.max(pace.pause, now + pause_ms) end
save_pace(KEYS[1], pace, ttl, KEYS[2], ARGV[9], now)
return { decreased, tostring(pace.rate), math.floor(pace.pause > now and pace.pause or 0) }
