-- transport-unreachable.lua: takes a transport out of rotation after a send could not reach it. The
-- first pause doubles with each outage in a row, up to a longest pause; reports of the same outage
-- (sends that were in flight when it went down) count once. When the pause ends the transport is
-- in rotation again, and its next send is the probe: a success ends the outage (its key is deleted).
--
-- KEYS[1] the transport's health (hash: failures, out-until)
-- ARGV[1] now (ms)     ARGV[2] first pause (ms)     ARGV[3] longest pause (ms)
--
-- Returns: {out of rotation until (ms), outages in a row, 1 if this report started the pause else 0}

local now, first, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local outUntil = tonumber(redis.call('HGET', KEYS[1], 'out-until') or '0')
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if outUntil > now then return {outUntil, failures, 0} end
failures = failures + 1
local pause = math.min(first * 2 ^ (failures - 1), longest)
outUntil = now + pause
redis.call('HSET', KEYS[1], 'failures', failures, 'out-until', outUntil)
redis.call('PEXPIRE', KEYS[1], math.floor(longest * 4))
return {outUntil, failures, 1}
