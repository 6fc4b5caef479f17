-- 0013_eta_stalled.sql — estimated completion and stalled jobs (issue 14, part 2).
--
-- What:
--   * jobs gains nullable columns (no defaults: the ALTER is instant on a big table):
--     last_reported_at (the last accepted worker report), stall_after_seconds (a per-job
--     override of the server's STALL_AFTER), the rate estimate (rate_sampled_at,
--     rate_sampled_done, items_per_second) behind estimated_completion_at, and
--     stalled_notified_at (when job.stalled fired for the current stall).
--   * stalled_jobs(p_default_stall_after_seconds, p_limit): the jobs of every organization that
--     stalled and were not yet notified for this stall; stalled_job_count(...): how many jobs are
--     stalled now. SECURITY DEFINER, owned by jobs_api_maintenance (0006), which a new RLS
--     policy lets see in_progress jobs only (and only inside its own functions); EXECUTE for
--     jobs_api_app, whose StallWatch service calls them, and for the owner.
--   * jobs_in_progress_idx: a partial index of running jobs for that scan. Its key and predicate
--     use only columns a progress report does not change (status changes at start and end), so
--     reports stay HOT updates; an index on last_reported_at would have made every report
--     update every index of jobs.
-- Why: a job in_progress whose worker stopped reporting (crashed, lost its network) looked
-- exactly like a slow one; now its views say stalled: true, lists filter on it, and the server
-- fires job.stalled once per stall.
-- A stall: status = 'in_progress' AND COALESCE(last_reported_at, updated_at) <
-- now() - COALESCE(stall_after_seconds, <STALL_AFTER>) seconds. Rows written before this
-- migration have last_reported_at NULL: updated_at stands in for it.

ALTER TABLE jobs
    ADD COLUMN last_reported_at    timestamptz,
    ADD COLUMN stall_after_seconds integer,
    ADD COLUMN rate_sampled_at     timestamptz,
    ADD COLUMN rate_sampled_done   bigint,
    ADD COLUMN items_per_second    double precision,
    ADD COLUMN stalled_notified_at timestamptz;

-- NOT VALID + VALIDATE: the check is validated without blocking writes for long (the columns
-- are new and NULL everywhere, so validation finds nothing to refuse).
ALTER TABLE jobs ADD CONSTRAINT jobs_stall_after_seconds_range
    CHECK (stall_after_seconds IS NULL OR stall_after_seconds BETWEEN 1 AND 2592000) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_stall_after_seconds_range;
ALTER TABLE jobs ADD CONSTRAINT jobs_items_per_second_range
    CHECK (items_per_second IS NULL OR items_per_second >= 0) NOT VALID;
ALTER TABLE jobs VALIDATE CONSTRAINT jobs_items_per_second_range;

COMMENT ON COLUMN jobs.last_reported_at IS
    'When a worker last reported on the job (any accepted progress report, including mark_started, mark_completed, mark_failed and an empty one: a heartbeat). Unlike updated_at it moves even when the report changed nothing. NULL on rows older than migration 0013: use COALESCE(last_reported_at, updated_at).';
COMMENT ON COLUMN jobs.stall_after_seconds IS
    'Per-job stall threshold (create''s stall_after), 1 s .. 30 days; NULL = the server''s STALL_AFTER (default 10 minutes). An in_progress job with no report for this long is stalled.';
COMMENT ON COLUMN jobs.rate_sampled_at IS
    'Rate estimate: when processed_items + failed_items was last sampled (first at mark_started or the first report while in_progress; then at most once a second).';
COMMENT ON COLUMN jobs.rate_sampled_done IS
    'Rate estimate: processed_items + failed_items at rate_sampled_at.';
COMMENT ON COLUMN jobs.items_per_second IS
    'Rate estimate: exponentially weighted moving average of (processed_items + failed_items) per second, time-weighted over about the last minute; NULL until two samples at least 1 s apart. estimated_completion_at = rate_sampled_at + (total_items - rate_sampled_done) / items_per_second.';
COMMENT ON COLUMN jobs.stalled_notified_at IS
    'When job.stalled fired for the job''s current stall (set by the server''s StallWatch). It fires again only after the job reported again (last_reported_at > this) and stalled again.';

CREATE INDEX jobs_in_progress_idx ON jobs (organization_id, job_id) WHERE status = 'in_progress';
COMMENT ON INDEX jobs_in_progress_idx IS
    'Running jobs of every organization, for the stall scan (stalled_jobs, stalled_job_count). Keyed on columns progress reports never change, so reports stay HOT updates.';

-- jobs_api_maintenance already has SELECT on jobs (0007). A policy TO it also binds its members
-- (the migrating owner): the current_user test keeps it to its SECURITY DEFINER functions.
CREATE POLICY maintenance_running_select ON jobs FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance' AND status = 'in_progress');
COMMENT ON POLICY maintenance_running_select ON jobs IS
    'jobs_api_maintenance itself (inside stalled_jobs / stalled_job_count; not its members) sees running jobs of every organization, to find stalled ones. It may not change them.';

CREATE FUNCTION stalled_jobs(p_default_stall_after_seconds integer, p_limit integer DEFAULT 100)
    RETURNS TABLE (organization_id text, job_id text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    -- A background caller: never wait long behind a DBA's lock (it would hold up shutdown).
    SET lock_timeout = '1s'
AS $$
    SELECT j.organization_id, j.job_id
    FROM jobs AS j
    WHERE j.status = 'in_progress'
      AND COALESCE(j.last_reported_at, j.updated_at)
          < now() - make_interval(secs => COALESCE(j.stall_after_seconds, p_default_stall_after_seconds))
      AND (j.stalled_notified_at IS NULL OR j.stalled_notified_at < COALESCE(j.last_reported_at, j.updated_at))
    ORDER BY COALESCE(j.last_reported_at, j.updated_at)
    LIMIT greatest(p_limit, 0)
$$;
COMMENT ON FUNCTION stalled_jobs(integer, integer) IS
    'Up to p_limit jobs (all organizations, longest silent first) that are stalled -- in_progress with no report for COALESCE(stall_after_seconds, p_default_stall_after_seconds) seconds -- and not yet notified for this stall (stalled_notified_at NULL or older than the last report). The server re-checks each under FOR UPDATE in the job''s tenant transaction before it sets stalled_notified_at. SECURITY DEFINER owned by jobs_api_maintenance (sees running jobs only); EXECUTE for the owner and jobs_api_app.';

CREATE FUNCTION stalled_job_count(p_default_stall_after_seconds integer)
    RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    -- A background caller: never wait long behind a DBA's lock (it would hold up shutdown).
    SET lock_timeout = '1s'
AS $$
    SELECT count(*)
    FROM jobs AS j
    WHERE j.status = 'in_progress'
      AND COALESCE(j.last_reported_at, j.updated_at)
          < now() - make_interval(secs => COALESCE(j.stall_after_seconds, p_default_stall_after_seconds))
$$;
COMMENT ON FUNCTION stalled_job_count(integer) IS
    'How many jobs (all organizations) are stalled now, notified or not: the jobs_stalled gauge of /metrics. SECURITY DEFINER owned by jobs_api_maintenance; EXECUTE for the owner and jobs_api_app.';

-- A non-superuser may only give an object to a role that has CREATE on its schema;
-- grant it to jobs_api_maintenance just for the hand-over when it lacks it (as 0006 does).
DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_maintenance', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_maintenance;
    END IF;
    ALTER FUNCTION stalled_jobs(integer, integer) OWNER TO jobs_api_maintenance;
    ALTER FUNCTION stalled_job_count(integer) OWNER TO jobs_api_maintenance;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_maintenance;
    END IF;
    REVOKE ALL ON FUNCTION stalled_jobs(integer, integer), stalled_job_count(integer) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION stalled_jobs(integer, integer), stalled_job_count(integer) TO %I',
                   current_user);
END
$$;
GRANT EXECUTE ON FUNCTION stalled_jobs(integer, integer), stalled_job_count(integer) TO jobs_api_app;

-- The other background callers get the same bound: refresh_young_statistics (0010, every second)
-- ANALYZEs a young table and would otherwise wait behind a DBA's table lock until the statement
-- timeout, holding up a server's shutdown; so would the idempotency purge (0006).
ALTER FUNCTION refresh_young_statistics() SET lock_timeout = '1s';
ALTER FUNCTION purge_expired_idempotency_keys(integer) SET lock_timeout = '1s';
