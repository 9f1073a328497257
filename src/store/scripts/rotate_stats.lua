-- Merge a batch of samples into hourly-rotated statistics; follows rotate.lua.
-- KEYS: current, start, last, pstart: all of one hash tag, `stats:{<context>:<type>}…`, so
-- the script stays within one Cluster slot. The slowest contexts live in another slot: the
-- caller sets the mean there afterwards, from this reply.
-- ARGV: hour, count, sum, sumsq, min, max
-- Returns {count, sum, sumsq, min, max, set} as strings (Lua would truncate floats to
-- integers), set being `current` or `last` (the samples belong to the previous hour), or an
-- empty array when the samples' hour is older than both kept hours (stale).
if not target then
  return {}
end
redis.call('ZINCRBY', target, ARGV[2], 'count')
redis.call('ZINCRBY', target, ARGV[3], 'sum')
redis.call('ZINCRBY', target, ARGV[4], 'sumsq')
redis.call('ZADD', target, 'LT', ARGV[5], 'min')
redis.call('ZADD', target, 'GT', ARGV[6], 'max')
local r = redis.call('ZMSCORE', target, 'count', 'sum', 'sumsq', 'min', 'max')
if target == KEYS[1] then
  r[6] = 'current'
else
  r[6] = 'last'
end
return r
