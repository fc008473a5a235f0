-- A login attempt given back (login-attempts.ts), once the password proved right. KEYS: the
-- client's window. Only while the window's key lives: a late give-back must not leave a key
-- without an expiry.
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0
