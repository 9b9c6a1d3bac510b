-- take-in-second.lua: counts one message in this wall-clock second, if the second has room.
--
-- KEYS[1] this second's counter     ARGV[1] messages allowed per second
--
-- Returns: 1 when the message may go now, 0 when the second is full.

local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
if used <= tonumber(ARGV[1]) then return 1 end
return 0
