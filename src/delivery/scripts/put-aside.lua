-- put-aside.lua: settles many recipients of one attempt as `waiting` for their destination's pace
-- in one call: an entry changes only if it is still this attempt's `sending` (settle_entry, in
-- ledger-entry.lua), and is counted under its destination.
--
-- KEYS[1] delivery counts (hash)     KEYS[2] waiting recipients by destination (hash)
-- KEYS[3...] the ledger bucket of each recipient, in the order of ARGV's triples
-- ARGV[1] owner (job~attempt)
-- ARGV[2...] triples: id, the entry's new value, destination
--
-- Returns how many were settled, then each destination named and how many wait for it now:
-- {settled, destination, waiting, destination, waiting, ...}.

local counts, waiting, owner = KEYS[1], KEYS[2], ARGV[1]
local settled, now_waiting = 0, {}
for i = 2, #ARGV, 3 do
  local bucket = KEYS[3 + (i - 2) / 3]
  local id, value, destination = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if settle_entry(bucket, id, owner, value, counts, 'waiting') then
    now_waiting[destination] = redis.call('HINCRBY', waiting, destination, 1)
    settled = settled + 1
  end
end
local reply = { settled }
for destination, count in pairs(now_waiting) do
  reply[#reply + 1] = destination
  reply[#reply + 1] = count
end
return reply
