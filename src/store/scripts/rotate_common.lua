-- Count messages in an hourly-rotated sorted set (common logs); follows rotate.lua.
-- KEYS: current, start, last, pstart
-- ARGV: hour (ISO start of the events' UTC hour), cap (0 = keep all), then increment, member pairs
-- Returns 1 when counted, 0 when the events' hour is older than both kept hours (stale).
if not target then
  return 0
end
local cap = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('ZINCRBY', target, ARGV[i], ARGV[i + 1])
end
if cap > 0 then
  redis.call('ZREMRANGEBYRANK', target, 0, -cap - 1)
end
return 1
