-- record-batches.lua: records a run's next batches and moves its cursor in one step, so that an
-- interrupted fan-out, re-run, neither loses nor doubles a batch. A batch recorded for the first
-- time adds its size to `queued` and to the run's recipients.
--
-- KEYS[1] the run's batches (hash: batch id -> comma-separated ids)
-- KEYS[2] the run (hash: cursor, recipients, ...)    KEYS[3] delivery counts (hash)
-- ARGV[1] the new cursor     ARGV[2...] pairs: batch id, ids (comma list)
--
-- Returns: how many recipients the new batches added.

local added = 0
for i = 2, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    local _, commas = string.gsub(ARGV[i + 1], ',', '')
    added = added + commas + 1
  end
end
if added > 0 then
  redis.call('HINCRBY', KEYS[3], 'queued', added)
  redis.call('HINCRBY', KEYS[2], 'recipients', added)
end
redis.call('HSET', KEYS[2], 'cursor', ARGV[1])
return added
