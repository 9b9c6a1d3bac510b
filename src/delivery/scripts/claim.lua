-- claim.lua: takes the recipients of one batch for sending, under the ledger's status lock.
--
-- An entry moves to `sending` (owned by this attempt of the job) only if nobody delivered it in this
-- run and no other job holds it. This job's own `sending` entries are taken back only once their
-- lease ran out: then the attempt that claimed them is known to be dead (a live one would have
-- settled them). Whether each subscriber is still confirmed comes with the ids (read from PostgreSQL
-- just before), so an unsubscribe or bounce committed before the claim is honoured: such recipients
-- are `skipped`. Recipients `deferred` (a temporary failure) or `waiting` (for their destination's
-- pace) in this run are taken again. The batch's `queued` count is taken off once, however often the
-- job runs.
--
-- KEYS[1] delivery counts (hash)          KEYS[2] the run's consumed batches (hash)
-- KEYS[3] failed index (sorted set)       KEYS[4] failure details (hash)
-- KEYS[5] failures counted by reason      KEYS[6] waiting recipients by destination (hash)
-- ARGV[1] ledger bucket key prefix        ARGV[2] run          ARGV[3] owner (job~attempt)
-- ARGV[4] mode (normal, failed, all)      ARGV[5] now (unix s) ARGV[6] batch id
-- ARGV[7] batch size                      ARGV[8] lease (s)    ARGV[9] ids per bucket
-- ARGV[10...] triples: id, confirmed (1/0), destination
--
-- Returns: {seconds until the last lease held by this job ends (0 if none), claimed id, ...}

local counts, consumed, failedIndex, failures, reasons, waiting = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ledgerPrefix, run, owner, mode, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HSETNX', consumed, ARGV[6], '1') == 1 then redis.call('HINCRBY', counts, 'queued', -tonumber(ARGV[7])) end
local lease, bucketSize = tonumber(ARGV[8]), tonumber(ARGV[9])
local job = string.match(owner, '^[^~]*')
local out = {0}
for i = 10, #ARGV, 3 do
  local id, confirmed, destination = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  local bucket = ledgerPrefix .. math.floor(tonumber(id) / bucketSize)
  local entry = redis.call('HGET', bucket, id)
  local state, since, entryRun, info
  if entry then state, since, entryRun, info = string.match(entry, '^([^|]*)|([^|]*)|([^|]*)|(.*)$') end
  local from = nil
  if not entry then
    from = 'new'
  elseif state == 'sending' then
    if string.match(info, '^[^~]*') == job then
      local left = tonumber(since) + lease - tonumber(now)
      if left <= 0 then from = 'sending' elseif left > out[1] then out[1] = left end
    end
  elseif entryRun == run then
    if state == 'deferred' or state == 'waiting' then from = state end
  elseif mode == 'failed' then
    if state == 'failed' then from = state end
  elseif mode == 'all' then
    if state == 'sent' or state == 'failed' or state == 'skipped' then from = state end
  end
  if from then
    local to = 'sending'
    if not confirmed then to = 'skipped' end
    if to == 'skipped' and from ~= 'new' and from ~= 'sending' and from ~= 'deferred' and from ~= 'waiting' then
      to = nil
    end
    if to then
      local value = to .. '|' .. now .. '|' .. run .. '|' .. (to == 'sending' and owner or 'not subscribed')
      redis.call('HSET', bucket, id, value)
      if from ~= 'new' then redis.call('HINCRBY', counts, from, -1) end
      redis.call('HINCRBY', counts, to, 1)
      if from == 'waiting' then redis.call('HINCRBY', waiting, destination, -1) end
      if from == 'failed' then
        redis.call('ZREM', failedIndex, id)
        local failure = redis.call('HGET', failures, id)
        if failure then redis.call('HINCRBY', reasons, cjson.decode(failure)['reason'] or '?', -1) end
      end
      if to == 'sending' then out[#out + 1] = id end
    end
  end
end
return out
