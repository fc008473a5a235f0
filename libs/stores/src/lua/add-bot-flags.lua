-- The bot flag ledger's write (bot-flag-ledger.ts), one UTC day at a time: the day's sorted set,
-- member `<userId>|<reason>|<from>` scored by the flag's end, so a flag extended later (ZADD GT)
-- stays one entry. KEYS: the day's set and its dropped counter (one hash slot). ARGV: the cap, the
-- expiry (epoch ms), then per flag its end and member. A member already there is always updated; a
-- new one is added while the day is under its cap, else counted as dropped. Answers the flags
-- dropped by this call and the day's total.


local cap, expireAt = tonumber(ARGV[1]), ARGV[2]
local size = redis.call('ZCARD', KEYS[1])
local dropped = 0
for i = 3, #ARGV, 2 do
  local member = ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], 'GT', ARGV[i], member)
  elseif size < cap then
    redis.call('ZADD', KEYS[1], ARGV[i], member)
    size = size + 1
  else
    dropped = dropped + 1
  end
end
redis.call('PEXPIREAT', KEYS[1], expireAt)
local total = 0
if dropped > 0 then
  total = redis.call('INCRBY', KEYS[2], dropped)
  redis.call('PEXPIREAT', KEYS[2], expireAt)
end
return { dropped, total }
