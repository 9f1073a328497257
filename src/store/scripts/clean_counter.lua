-- Trim one counter's buckets and forget it when it is empty.
-- KEYS: count hash, known zset
-- ARGV: cutoff (buckets starting at or before it go), the counter's member of known:
-- Returns {buckets deleted, 1 if removed from known: else 0}.
local cutoff = tonumber(ARGV[1])
local fields = redis.call('HKEYS', KEYS[1])
local old = {}
for _, f in ipairs(fields) do
  local start = tonumber(f)
  if start and start <= cutoff then
    old[#old + 1] = f
  end
end
for i = 1, #old, 1000 do
  redis.call('HDEL', KEYS[1], unpack(old, i, math.min(i + 999, #old)))
end
local removed = 0
-- Checked in the same script as the trim, so a writer's HINCRBY (sent with its ZADD in one
-- MULTI) is either fully before or fully after: a counter is never forgotten while it has data.
if redis.call('HLEN', KEYS[1]) == 0 then
  removed = redis.call('ZREM', KEYS[2], ARGV[2])
end
return {#old, removed}
