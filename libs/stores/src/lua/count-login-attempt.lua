-- A dashboard login attempt (login-attempts.ts). KEYS: the client's window. ARGV: its expiry ms.
-- Counts and sets the expiry in one step, so a key can never be left without one. Answers the
-- attempts in the window so far.
local attempts = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return attempts
