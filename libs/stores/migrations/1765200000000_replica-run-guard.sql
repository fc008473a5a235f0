-- Up Migration
-- Serving may read a run's rows from a hot standby, yet learn of the run from the primary (when
-- the standby failed a read a moment before). A standby that has not replayed the run's
-- publication yet holds none of its rows, and every list of the run would read as empty there, and
-- be cached as such for the whole run. Its reads ask this first: it raises, with a SQLSTATE of our
-- own that the read side takes as "ask the primary", unless the run has succeeded on this server
-- (publishing marks it succeeded in the transaction that writes its last rows, so the rest is
-- there too). The primary always has the runs serving asks for, so there it never raises.
CREATE FUNCTION lrec_require_run(run uuid) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM batch_runs WHERE run_id = run AND status = 'succeeded') THEN
    RAISE EXCEPTION 'batch run % is not on this server yet', run USING ERRCODE = 'LR001';
  END IF;
  RETURN true;
END
$$;

-- Down Migration
DROP FUNCTION lrec_require_run(uuid);
