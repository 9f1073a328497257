-- Count messages in an hourly-rotated sorted set (common logs).
-- KEYS: current, start, last, pstart
-- ARGV: hour (ISO start of the events' UTC hour), cap (0 = keep all), then increment, member pairs
-- Returns 1 when counted, 0 when the events' hour is older than both kept hours (stale).
local hour = ARGV[1]
local cap = tonumber(ARGV[2])
local target = KEYS[1]
local start = redis.call('GET', KEYS[2])
if not start then
  redis.call('SET', KEYS[2], hour)
elseif start < hour then
  -- A missing set leaves :last (and its :pstart) as they were.
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('RENAME', KEYS[1], KEYS[3])
    redis.call('SET', KEYS[4], start)
  end
  redis.call('SET', KEYS[2], hour)
elseif start > hour then
  if redis.call('GET', KEYS[4]) == hour then
    target = KEYS[3]
  else
    return 0
  end
end
for i = 3, #ARGV, 2 do
  redis.call('ZINCRBY', target, ARGV[i], ARGV[i + 1])
end
if cap > 0 then
  redis.call('ZREMRANGEBYRANK', target, 0, -cap - 1)
end
return 1
