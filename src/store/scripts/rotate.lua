-- Hourly rotation, the prefix of the scripts that count into a rotated set (rotate_common.lua,
-- rotate_stats.lua): they are this file and theirs joined into one script.
-- KEYS: current, start, last, pstart, …; ARGV: hour (ISO start of the events' UTC hour), …
-- Leaves `target`: the set the events count in (current, or last when they belong to the
-- previous hour), or nil when their hour is older than both kept hours (stale).
local hour = ARGV[1]
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
    target = nil
  end
end
