-- settle.lua: records how sends ended, each only if its entry is still that attempt's `sending` (a
-- late answer from an attempt that lost its job changes nothing). A failure is counted under its
-- reason (code and reply), so the admins' grouping never scans. Sends that ended while the previous
-- call was on its way are settled together (DeliveryLedger.settle); recipients put back to wait for
-- their destination's pace are settled by put-aside.lua.
--
-- KEYS[1] delivery counts (hash)             KEYS[2] failed index (sorted set)
-- KEYS[3] failure details (hash)             KEYS[4] failures counted by reason
-- KEYS[5...] the ledger bucket of each entry, in the order of ARGV's groups of five
-- ARGV, five per entry: id, owner, new state (sent, deferred, failed), the entry's new value,
--      failure JSON ('' for none)
--
-- Returns, per entry: 1 when settled, 0 when the entry was not that attempt's any more.

local counts, failed_index, failures, reasons = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local results = {}
for i = 1, #ARGV, 5 do
  local bucket = KEYS[5 + (i - 1) / 5]
  local id, owner, new_state, value, failure = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local settled = 0
  if settle_entry(bucket, id, owner, value, counts, new_state) then
    if new_state == 'failed' then
      redis.call('ZADD', failed_index, tonumber(id), id)
      redis.call('HINCRBY', reasons, cjson.decode(failure)['reason'], 1)
    end
    if failure ~= '' then redis.call('HSET', failures, id, failure) else redis.call('HDEL', failures, id) end
    settled = 1
  end
  results[#results + 1] = settled
end
return results
