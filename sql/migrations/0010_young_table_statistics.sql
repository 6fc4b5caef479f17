-- 0010_young_table_statistics.sql — plans that stay right while a new database fills up.
--
-- Why: the server keeps its statements prepared on long-lived pooled connections, and
-- PostgreSQL switches a prepared statement to a cached *generic* plan after five executions.
-- On a new database the tables have no statistics yet; with a handful of rows every index
-- whose first column is organization_id costs exactly the same for
-- `WHERE organization_id = $1 AND job_id = $2`, and the planner may keep jobs_status_list_idx
-- (or, once a tiny table has been analyzed, a sequential scan). That plan is cached until the
-- table's statistics change, which autovacuum does only every autovacuum_naptime (one minute)
-- and after 10 % growth — meanwhile every progress report walks all of the organization's
-- index entries: measured 4x slower during the first minutes of a new database.
-- What: refresh_young_statistics() ANALYZEs jobs, job_events and idempotency_keys each time
-- one of them has at least doubled since its last ANALYZE (or has rows and was never
-- analyzed), while it holds fewer than 1,000,000 rows (autovacuum's 10 % rule is prompt enough
-- beyond that; ANALYZE reads a fixed 30,000-row sample, so each call is cheap). ANALYZE also
-- invalidates the cached plans, so every connection re-plans with real statistics. Updates do
-- not count (only growth does), so a busy table of fixed size is never re-analyzed by it.
-- `jobs-api serve` calls it once a second; a DBA may call it any time. SKIP_LOCKED: when
-- autovacuum (or another server) is analyzing the table, this call skips it.
-- SECURITY DEFINER, owned by the migrating owner (ANALYZE needs the table's owner), no
-- parameters; EXECUTE for the owner and jobs_api_app.

CREATE FUNCTION refresh_young_statistics() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
DECLARE
    analyzed integer := 0;
    t record;
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel
        FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_stat_user_tables AS s ON s.relid = c.oid
        WHERE c.oid IN ('public.jobs'::regclass, 'public.job_events'::regclass, 'public.idempotency_keys'::regclass)
          AND c.reltuples < 1000000
          AND s.n_live_tup > 0
          AND (c.reltuples < 0 OR s.n_live_tup >= 2 * greatest(c.reltuples, 50))
        ORDER BY c.oid
    LOOP
        EXECUTE format('ANALYZE (SKIP_LOCKED) %s', t.rel);
        analyzed := analyzed + 1;
    END LOOP;
    RETURN analyzed;
END
$$;
COMMENT ON FUNCTION refresh_young_statistics() IS
    'ANALYZEs jobs, job_events and idempotency_keys when one has at least doubled since its last ANALYZE (or has rows and was never analyzed), below 1,000,000 rows; returns how many it analyzed. Keeps cached generic plans right while a new database fills up (see migration 0010). jobs-api serve calls it once a second. SECURITY DEFINER (the migrating owner); EXECUTE for the owner and jobs_api_app.';
REVOKE ALL ON FUNCTION refresh_young_statistics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_young_statistics() TO jobs_api_app;
