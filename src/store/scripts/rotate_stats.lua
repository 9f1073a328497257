-- Merge a batch of samples into hourly-rotated statistics, optionally updating "slowest";
-- follows rotate.lua.
-- KEYS: current, start, last, pstart, [slowest]
-- ARGV: hour, count, sum, sumsq, min, max, [context, slowest cap]
-- Returns {count, sum, sumsq, min, max} as strings (Lua would truncate floats to integers),
-- or an empty array when the samples' hour is older than both kept hours (stale).
if not target then
  return {}
end
redis.call('ZINCRBY', target, ARGV[2], 'count')
redis.call('ZINCRBY', target, ARGV[3], 'sum')
redis.call('ZINCRBY', target, ARGV[4], 'sumsq')
redis.call('ZADD', target, 'LT', ARGV[5], 'min')
redis.call('ZADD', target, 'GT', ARGV[6], 'max')
local r = redis.call('ZMSCORE', target, 'count', 'sum', 'sumsq', 'min', 'max')
if KEYS[5] and target == KEYS[1] then
  local mean = tonumber(r[2]) / tonumber(r[1])
  redis.call('ZADD', KEYS[5], mean, ARGV[7])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -tonumber(ARGV[8]) - 1)
end
return r
