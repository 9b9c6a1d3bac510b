-- ledger-entry.lua: shared by settle.lua and put-aside.lua (ledger.ts puts it in front of each). An
-- entry is `state|at|run|info`; while a send is on its way it is `sending|...|<owner>`, where the
-- owner is the attempt (job~random) that claimed it.

-- Moves the entry `id` of `bucket` from `owner`'s `sending` to `value` (whose state is `new_state`)
-- and keeps the delivery counts; changes nothing and returns false when the entry is not that
-- attempt's `sending` any more (a late answer from an attempt that lost its job).
local function settle_entry(bucket, id, owner, value, counts, new_state)
  local entry = redis.call('HGET', bucket, id)
  if not entry then return false end
  local state, info = string.match(entry, '^([^|]*)|[^|]*|[^|]*|(.*)$')
  if state ~= 'sending' or info ~= owner then return false end
  redis.call('HSET', bucket, id, value)
  redis.call('HINCRBY', counts, 'sending', -1)
  redis.call('HINCRBY', counts, new_state, 1)
  return true
end
