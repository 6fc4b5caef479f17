-- 0007_dba_tooling.sql — DBA tooling: views, repair functions, retention (prune_jobs) and a
-- read-only analyst role. The psql cookbook that goes with it is docs/dba.md.
--
-- What:
--   * Views (spec §7 "views for the common questions"), all prefixed dba_:
--       dba_running_job_progress  one row per pending/in_progress job with its progress (new;
--                                 dba_running_jobs from 0005 stays the per-organization summary)
--       dba_stuck_jobs            in_progress jobs silent for longer than the setting
--                                 jobs.stuck_after (default 30 minutes)
--       dba_largest_jobs          jobs by error_count + warning_count (from the row: cheap)
--       dba_running_jobs, dba_failure_hot_spots (0005) are kept as they are.
--     On PostgreSQL 15+ every dba_ view is switched to security_invoker, so row-level
--     security applies to whoever queries it (an analyst sees only the organization it set).
--     PostgreSQL 14 has no security_invoker: there the views keep their owner's rights, as in
--     0005, and are NOT granted to the analyst role (which would otherwise read them with the
--     owner's rights); analysts on 14 query the tables. A NOTICE says so.
--   * job_progress_percentage(): the spec §2 formula, used by the views.
--   * Repair functions that follow the API's rules (spec §3, §4):
--       dba_cancel_job, dba_fail_stuck_job, dba_revoke_api_key.
--     SECURITY INVOKER: they run with the calling DBA's own privileges (UPDATE on jobs /
--     api_keys, i.e. the owner or a superuser) and grant nothing new; they only encode the
--     rules and set app.organization_id for their own work (putting the caller's value back
--     before they return), so they work for a non-superuser owner under forced RLS.
--     EXECUTE is revoked from PUBLIC; the owner has it.
--   * prune_jobs(): retention across ALL organizations, in batches. SECURITY DEFINER, owned by
--     jobs_api_maintenance (0006), which new RLS policies let see/delete TERMINAL jobs only,
--     and see events of terminal jobs only (to count them); they also require
--     current_user = jobs_api_maintenance, so they do not extend to its members (the owner
--     has been one since 0006) outside the function. Events go by the existing
--     ON DELETE CASCADE of job_events_job_fkey: referential actions run as the table owner
--     with RLS not applied, so the maintenance role needs no DELETE on job_events.
--     EXECUTE for the migrating (owner) role only — not for jobs_api_app.
--     jobs_completed_at_idx lets each batch find the oldest terminal jobs without a full scan.
--   * Roles jobs_api_analyst (read-only, per organization, via RLS) and
--     jobs_api_analyst_all_orgs (also every organization, via SELECT-only policies).
--     Neither may read api_keys.token_hash, users or sessions, nor write anything.
-- Why: "what is running, what is stuck, what keeps failing, make it stop, clean up" should be
-- one psql statement each, with the same rules as the API, and analysts should get read
-- access without ever bypassing tenant isolation by accident.
--
-- Note on the index: CREATE INDEX (non-concurrent, we run inside the migrator's transaction)
-- blocks writes to jobs while it builds. On a very large jobs table, create it beforehand
-- with the same definition and CONCURRENTLY; IF NOT EXISTS then skips it here:
--   CREATE INDEX CONCURRENTLY jobs_completed_at_idx ON jobs (completed_at) WHERE completed_at IS NOT NULL;
--
-- Roles are cluster-global: they are created only when missing, tolerating another database of
-- the same cluster creating them at the same moment. Runs as the database owner.

-- ---------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------
DO $$
DECLARE
    me oid := (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_analyst') THEN
        BEGIN
            CREATE ROLE jobs_api_analyst NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
            COMMENT ON ROLE jobs_api_analyst IS
                'jobs-api: read-only analyst (GRANT jobs_api_analyst TO <login role>). SELECT on the tenant tables (api_keys without token_hash) and the dba_ views, subject to RLS: sees only the organization set with SET app.organization_id. No users, no sessions, no writes.';
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created by another database's migration at the same moment
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_analyst_all_orgs') THEN
        BEGIN
            CREATE ROLE jobs_api_analyst_all_orgs NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
            COMMENT ON ROLE jobs_api_analyst_all_orgs IS
                'jobs-api: read-only analyst of EVERY organization (includes jobs_api_analyst; SELECT-only RLS policies USING (true) on the tenant tables). Grant it deliberately.';
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
               WHERE rolname IN ('jobs_api_analyst', 'jobs_api_analyst_all_orgs') AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role jobs_api_analyst or jobs_api_analyst_all_orgs exists with SUPERUSER or BYPASSRLS; refusing to continue'
            USING HINT = 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS, then migrate again.';
    END IF;

    -- jobs_api_analyst_all_orgs includes the privileges of jobs_api_analyst.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   WHERE m.roleid = 'jobs_api_analyst'::regrole AND m.member = 'jobs_api_analyst_all_orgs'::regrole) THEN
        BEGIN
            GRANT jobs_api_analyst TO jobs_api_analyst_all_orgs;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;

    -- 0006 made the migrating user a member of jobs_api_maintenance (needed for ALTER ... OWNER
    -- below); check, since nothing here works without it.
    IF NOT pg_catalog.pg_has_role(me, 'jobs_api_maintenance', 'MEMBER') THEN
        RAISE EXCEPTION 'the migrating role % is not a member of jobs_api_maintenance (granted by 0006)', current_user;
    END IF;

    -- Its comment now also names prune_jobs. Commenting on a role needs CREATEROLE (or
    -- superuser); an owner without it keeps the old comment, which is harmless.
    BEGIN
        COMMENT ON ROLE jobs_api_maintenance IS
            'jobs-api: owner of SECURITY DEFINER housekeeping functions (purge_expired_idempotency_keys, prune_jobs). Its RLS policies let it see/delete only expired idempotency records and terminal jobs. Nobody should log in as it.';
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'no privilege to update the comment of role jobs_api_maintenance; kept as it was';
    END;
END
$$;

GRANT USAGE ON SCHEMA public TO jobs_api_analyst, jobs_api_analyst_all_orgs;

-- ---------------------------------------------------------------------------
-- Index for retention: oldest terminal jobs first, across organizations.
-- ---------------------------------------------------------------------------
CREATE INDEX IF NOT EXISTS jobs_completed_at_idx ON jobs (completed_at) WHERE completed_at IS NOT NULL;
COMMENT ON INDEX jobs_completed_at_idx IS
    'Terminal jobs by completion time, all organizations: prune_jobs takes its batches from the oldest end.';

-- ---------------------------------------------------------------------------
-- Progress formula (spec §2)
-- ---------------------------------------------------------------------------
CREATE FUNCTION job_progress_percentage(p_status text, p_total_items bigint, p_processed_items bigint, p_failed_items bigint)
    RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT round(CASE
        WHEN p_status IN ('completed', 'completed_with_warnings', 'partial_success') THEN 100::numeric
        WHEN p_total_items IS NULL OR p_total_items <= 0 THEN 0::numeric
        ELSE least(100::numeric, 100::numeric * (p_processed_items + p_failed_items) / p_total_items)
    END, 2)
$$;

COMMENT ON FUNCTION job_progress_percentage(text, bigint, bigint, bigint) IS
    'progress_percentage as the API reports it (spec §2): 100 for completed, completed_with_warnings and partial_success; 0 when total_items is 0; else min(100, 100 * (processed + failed) / total) rounded to 2 decimals. Arguments: status, total_items, processed_items, failed_items.';

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------
CREATE VIEW dba_running_job_progress AS
SELECT j.organization_id,
       j.job_id,
       j.job_type,
       j.status,
       j.processed_items,
       j.failed_items,
       j.total_items,
       job_progress_percentage(j.status, j.total_items, j.processed_items, j.failed_items) AS progress_percentage,
       CASE WHEN jsonb_typeof(j.metadata -> 'stage') = 'string' THEN j.metadata ->> 'stage' END AS stage,
       j.created_at,
       j.started_at,
       j.updated_at,
       floor(extract(epoch FROM now() - j.updated_at))::bigint AS seconds_since_update
FROM jobs AS j
WHERE j.status IN ('pending', 'in_progress');

COMMENT ON VIEW dba_running_job_progress IS
    'One row per unfinished job (pending, in_progress) with its progress and how long it has been silent. ORDER BY seconds_since_update DESC for the quietest first; filter by organization_id. dba_running_jobs is the per-organization summary.';
COMMENT ON COLUMN dba_running_job_progress.organization_id IS 'Organization.';
COMMENT ON COLUMN dba_running_job_progress.job_id IS 'The job.';
COMMENT ON COLUMN dba_running_job_progress.job_type IS 'Kind of job (client-chosen).';
COMMENT ON COLUMN dba_running_job_progress.status IS 'pending or in_progress.';
COMMENT ON COLUMN dba_running_job_progress.processed_items IS 'Items processed successfully so far.';
COMMENT ON COLUMN dba_running_job_progress.failed_items IS 'Items that failed so far.';
COMMENT ON COLUMN dba_running_job_progress.total_items IS 'Items the job expects to process.';
COMMENT ON COLUMN dba_running_job_progress.progress_percentage IS 'As the API reports it: job_progress_percentage(status, total, processed, failed).';
COMMENT ON COLUMN dba_running_job_progress.stage IS 'metadata.stage when it is a string (as the status view), else NULL.';
COMMENT ON COLUMN dba_running_job_progress.created_at IS 'When the job was created.';
COMMENT ON COLUMN dba_running_job_progress.started_at IS 'When it was marked started; NULL while pending.';
COMMENT ON COLUMN dba_running_job_progress.updated_at IS 'Last time a request changed the job.';
COMMENT ON COLUMN dba_running_job_progress.seconds_since_update IS 'Whole seconds since updated_at.';

CREATE VIEW dba_stuck_jobs AS
SELECT j.organization_id,
       j.job_id,
       j.job_type,
       j.processed_items,
       j.failed_items,
       j.total_items,
       job_progress_percentage(j.status, j.total_items, j.processed_items, j.failed_items) AS progress_percentage,
       CASE WHEN jsonb_typeof(j.metadata -> 'stage') = 'string' THEN j.metadata ->> 'stage' END AS stage,
       j.triggered_by,
       j.started_at,
       j.updated_at,
       date_trunc('second', now() - j.updated_at) AS silent_for,
       t.stuck_after
FROM jobs AS j
CROSS JOIN (SELECT coalesce(nullif(current_setting('jobs.stuck_after', true), ''), '30 minutes')::interval AS stuck_after) AS t
WHERE j.status = 'in_progress'
  AND j.updated_at < now() - t.stuck_after;

COMMENT ON VIEW dba_stuck_jobs IS
    'in_progress jobs with no update for longer than the setting jobs.stuck_after (an interval; default 30 minutes): SET jobs.stuck_after = ''2 hours'' per session, or ALTER DATABASE/ROLE ... SET jobs.stuck_after for good. Repair with dba_fail_stuck_job() or dba_cancel_job().';
COMMENT ON COLUMN dba_stuck_jobs.organization_id IS 'Organization.';
COMMENT ON COLUMN dba_stuck_jobs.job_id IS 'The job.';
COMMENT ON COLUMN dba_stuck_jobs.job_type IS 'Kind of job (client-chosen).';
COMMENT ON COLUMN dba_stuck_jobs.processed_items IS 'Items processed successfully before it went silent.';
COMMENT ON COLUMN dba_stuck_jobs.failed_items IS 'Items that failed before it went silent.';
COMMENT ON COLUMN dba_stuck_jobs.total_items IS 'Items the job expects to process.';
COMMENT ON COLUMN dba_stuck_jobs.progress_percentage IS 'As the API reports it (spec §2).';
COMMENT ON COLUMN dba_stuck_jobs.stage IS 'metadata.stage when it is a string, else NULL: where the worker was.';
COMMENT ON COLUMN dba_stuck_jobs.triggered_by IS 'Who started the job (user id, client string or NULL).';
COMMENT ON COLUMN dba_stuck_jobs.started_at IS 'When the job was marked started.';
COMMENT ON COLUMN dba_stuck_jobs.updated_at IS 'Last time a request changed the job.';
COMMENT ON COLUMN dba_stuck_jobs.silent_for IS 'now() - updated_at, to the second.';
COMMENT ON COLUMN dba_stuck_jobs.stuck_after IS 'The threshold in effect (jobs.stuck_after, default 30 minutes).';

CREATE VIEW dba_largest_jobs AS
SELECT j.organization_id,
       j.job_id,
       j.job_type,
       j.status,
       j.error_count + j.warning_count               AS event_count,
       j.error_count,
       j.warning_count,
       j.stored_error_count + j.stored_warning_count AS stored_event_count,
       j.total_items,
       j.created_at,
       j.completed_at
FROM jobs AS j
ORDER BY j.error_count + j.warning_count DESC, j.organization_id, j.job_id;

COMMENT ON VIEW dba_largest_jobs IS
    'Jobs by number of errors + warnings, largest first, from the counters on the row (no scan of job_events). Add LIMIT. stored_event_count is what job_events actually holds for the job (capped per job).';
COMMENT ON COLUMN dba_largest_jobs.organization_id IS 'Organization.';
COMMENT ON COLUMN dba_largest_jobs.job_id IS 'The job.';
COMMENT ON COLUMN dba_largest_jobs.job_type IS 'Kind of job (client-chosen).';
COMMENT ON COLUMN dba_largest_jobs.status IS 'Current status.';
COMMENT ON COLUMN dba_largest_jobs.event_count IS 'error_count + warning_count: events reported in all.';
COMMENT ON COLUMN dba_largest_jobs.error_count IS 'Errors reported in all.';
COMMENT ON COLUMN dba_largest_jobs.warning_count IS 'Warnings reported in all.';
COMMENT ON COLUMN dba_largest_jobs.stored_event_count IS 'Events stored in job_events (stored_error_count + stored_warning_count), at most twice the per-job cap.';
COMMENT ON COLUMN dba_largest_jobs.total_items IS 'Items the job expects to process.';
COMMENT ON COLUMN dba_largest_jobs.created_at IS 'When the job was created.';
COMMENT ON COLUMN dba_largest_jobs.completed_at IS 'When it became terminal; NULL while running.';

REVOKE ALL ON dba_running_job_progress, dba_stuck_jobs, dba_largest_jobs FROM PUBLIC;

-- security_invoker (PostgreSQL 15+) on every dba_ view, and SELECT for the analysts.
DO $$
DECLARE
    v text;
BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
        FOREACH v IN ARRAY ARRAY['dba_running_jobs', 'dba_failure_hot_spots', 'dba_running_job_progress',
                                 'dba_stuck_jobs', 'dba_largest_jobs'] LOOP
            EXECUTE format('ALTER VIEW %I SET (security_invoker = true)', v);
            EXECUTE format('GRANT SELECT ON %I TO jobs_api_analyst', v);
        END LOOP;
    ELSE
        RAISE NOTICE 'PostgreSQL < 15: the dba_ views keep their owner''s rights and are not granted to jobs_api_analyst (analysts query the tables directly)';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Analyst roles: SELECT only, through RLS
-- ---------------------------------------------------------------------------
-- tenant_isolation (TO PUBLIC) already binds jobs_api_analyst: it sees the organization set in
-- app.organization_id and nothing without one. The all_orgs policies below are SELECT-only.
GRANT SELECT ON organizations, memberships, jobs, job_events, idempotency_keys TO jobs_api_analyst;
GRANT SELECT (organization_id, key_id, name, role, token_prefix, created_at, revoked_at, last_used_at)
    ON api_keys TO jobs_api_analyst;
-- Nothing on users or sessions (not organization-scoped, no RLS; sessions hold token hashes).

CREATE POLICY analyst_all_orgs ON organizations    FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON memberships      FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON api_keys         FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON jobs             FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON job_events       FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON idempotency_keys FOR SELECT TO jobs_api_analyst_all_orgs USING (true);

COMMENT ON POLICY analyst_all_orgs ON organizations    IS 'jobs_api_analyst_all_orgs (and its members) read every organization; SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON memberships      IS 'jobs_api_analyst_all_orgs (and its members) read the memberships of every organization; SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON api_keys         IS 'jobs_api_analyst_all_orgs (and its members) read the keys of every organization (never token_hash: no column privilege); SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON jobs             IS 'jobs_api_analyst_all_orgs (and its members) read the jobs of every organization; SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON job_events       IS 'jobs_api_analyst_all_orgs (and its members) read the events of every organization; SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON idempotency_keys IS 'jobs_api_analyst_all_orgs (and its members) read the idempotency records of every organization; SELECT only.';

-- ---------------------------------------------------------------------------
-- Repair functions (SECURITY INVOKER: the caller's own privileges)
-- ---------------------------------------------------------------------------
-- Each sets app.organization_id (set_config(..., true)) for its work and puts the caller's
-- value back before returning; on an error the transaction (or the caller's savepoint) is
-- rolled back, which restores it too. (A "SET app.organization_id" clause on the function would
-- do this by itself, but PostgreSQL 15 lets only superusers attach a custom setting to a
-- function, and the owner need not be one.)

CREATE FUNCTION dba_cancel_job(p_organization_id text, p_job_id text, p_reason text DEFAULT NULL)
    RETURNS jobs
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
AS $$
DECLARE
    v_job jobs;
    v_prev text := current_setting('app.organization_id', true);
BEGIN
    IF p_organization_id IS NULL OR p_organization_id = '' OR p_job_id IS NULL OR p_job_id = '' THEN
        RAISE EXCEPTION 'dba_cancel_job: organization id and job id are required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF char_length(p_reason) > 10000 THEN
        RAISE EXCEPTION 'dba_cancel_job: reason is longer than 10000 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('app.organization_id', p_organization_id, true);

    SELECT * INTO v_job FROM jobs
    WHERE organization_id = p_organization_id AND job_id = p_job_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % not found in organization %', p_job_id, p_organization_id
            USING ERRCODE = 'no_data_found';
    END IF;

    IF v_job.status = 'cancelled' THEN
        PERFORM set_config('app.organization_id', coalesce(v_prev, ''), true);
        RETURN v_job;  -- as the API: cancelling a cancelled job changes nothing (updated_at included)
    ELSIF v_job.status NOT IN ('pending', 'in_progress') THEN
        RAISE EXCEPTION 'job % is % and cannot be cancelled', p_job_id, v_job.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only pending and in_progress jobs can be cancelled.';
    END IF;

    UPDATE jobs
    SET status = 'cancelled',
        completed_at = now(),
        error_message = coalesce(nullif(p_reason, ''), 'cancelled'),
        ended_by = 'cancel',
        updated_at = now()
    WHERE organization_id = p_organization_id AND job_id = p_job_id
    RETURNING * INTO v_job;
    PERFORM set_config('app.organization_id', coalesce(v_prev, ''), true);
    RETURN v_job;
END
$$;

COMMENT ON FUNCTION dba_cancel_job(text, text, text) IS
    'Cancels a job as POST /api/jobs/{id}/cancel does: pending/in_progress -> cancelled (completed_at = updated_at = now(), error_message = reason or ''cancelled'', ended_by = cancel); a cancelled job is returned unchanged; another terminal status raises 55000, an unknown job P0002. Locks the row. SECURITY INVOKER: needs the caller''s UPDATE on jobs (owner or superuser); sets app.organization_id itself for the call only. The worker learns of it from the 409 on its next progress report.';

CREATE FUNCTION dba_fail_stuck_job(p_organization_id text, p_job_id text,
                                   p_message text DEFAULT 'marked failed by a DBA: no progress')
    RETURNS jobs
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
AS $$
DECLARE
    v_job jobs;
    v_prev text := current_setting('app.organization_id', true);
BEGIN
    IF p_organization_id IS NULL OR p_organization_id = '' OR p_job_id IS NULL OR p_job_id = '' THEN
        RAISE EXCEPTION 'dba_fail_stuck_job: organization id and job id are required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_message IS NULL OR char_length(p_message) NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'dba_fail_stuck_job: message must be 1-10000 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('app.organization_id', p_organization_id, true);

    SELECT * INTO v_job FROM jobs
    WHERE organization_id = p_organization_id AND job_id = p_job_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % not found in organization %', p_job_id, p_organization_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF v_job.status NOT IN ('pending', 'in_progress') THEN
        RAISE EXCEPTION 'job % is % already; only pending or in_progress jobs can be marked failed', p_job_id, v_job.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    UPDATE jobs
    SET status = 'failed',
        ended_by = 'mark_failed',
        error_message = p_message,
        completed_at = now(),
        updated_at = now()
    WHERE organization_id = p_organization_id AND job_id = p_job_id
    RETURNING * INTO v_job;
    PERFORM set_config('app.organization_id', coalesce(v_prev, ''), true);
    RETURN v_job;
END
$$;

COMMENT ON FUNCTION dba_fail_stuck_job(text, text, text) IS
    'Ends a stuck pending/in_progress job as a mark_failed progress report would: status failed, ended_by mark_failed, error_message = p_message (1-10000 characters; default ''marked failed by a DBA: no progress''), completed_at = updated_at = now(). Any terminal status raises 55000, an unknown job P0002. Locks the row. SECURITY INVOKER (caller needs UPDATE on jobs); sets app.organization_id itself for the call only.';

CREATE FUNCTION dba_revoke_api_key(p_organization_id text, p_key_id text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
AS $$
DECLARE
    v_revoked_at timestamptz;
    v_prev text := current_setting('app.organization_id', true);
BEGIN
    IF p_organization_id IS NULL OR p_organization_id = '' OR p_key_id IS NULL OR p_key_id = '' THEN
        RAISE EXCEPTION 'dba_revoke_api_key: organization id and key id are required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('app.organization_id', p_organization_id, true);

    SELECT revoked_at INTO v_revoked_at FROM api_keys
    WHERE organization_id = p_organization_id AND key_id = p_key_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'API key % not found in organization %', p_key_id, p_organization_id
            USING ERRCODE = 'no_data_found';
    END IF;
    IF v_revoked_at IS NULL THEN
        UPDATE api_keys SET revoked_at = now()
        WHERE organization_id = p_organization_id AND key_id = p_key_id;
    END IF;
    PERFORM set_config('app.organization_id', coalesce(v_prev, ''), true);
    RETURN v_revoked_at IS NULL;  -- false: it was already revoked (unchanged)
END
$$;

COMMENT ON FUNCTION dba_revoke_api_key(text, text) IS
    'Revokes an API key by its key_id (see api_keys.key_id or jobs-api apikey list): true when it was revoked now, false when it already was (unchanged); an unknown key raises P0002. Servers stop accepting it within AUTH_CACHE_TTL_SECONDS (at most 30 s). SECURITY INVOKER (caller needs UPDATE on api_keys); sets app.organization_id itself for the call only.';

REVOKE ALL ON FUNCTION dba_cancel_job(text, text, text), dba_fail_stuck_job(text, text, text),
    dba_revoke_api_key(text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Retention: prune_jobs (SECURITY DEFINER, owned by jobs_api_maintenance)
-- ---------------------------------------------------------------------------
GRANT SELECT, DELETE ON jobs TO jobs_api_maintenance;
GRANT SELECT ON job_events TO jobs_api_maintenance;

-- A policy TO a role also binds every member of it, and the migrating (owner) role is a member
-- of jobs_api_maintenance (0006). So that the owner in psql does not suddenly see -- and could
-- not delete by mistake -- the terminal jobs of every organization, these policies also require
-- current_user = jobs_api_maintenance, which holds only inside its SECURITY DEFINER functions.
CREATE POLICY maintenance_terminal_select ON jobs FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance'
           AND status IN ('completed', 'completed_with_warnings', 'partial_success', 'failed', 'cancelled'));
CREATE POLICY maintenance_terminal_delete ON jobs FOR DELETE TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance'
           AND status IN ('completed', 'completed_with_warnings', 'partial_success', 'failed', 'cancelled'));
-- The subquery on jobs is itself filtered by maintenance_terminal_select.
CREATE POLICY maintenance_terminal_select ON job_events FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance'
           AND EXISTS (SELECT 1 FROM jobs AS j
                       WHERE j.organization_id = job_events.organization_id AND j.job_id = job_events.job_id
                         AND j.status IN ('completed', 'completed_with_warnings', 'partial_success', 'failed', 'cancelled')));

COMMENT ON POLICY maintenance_terminal_select ON jobs IS
    'jobs_api_maintenance itself (inside prune_jobs; not its members) sees terminal jobs of every organization, never running ones.';
COMMENT ON POLICY maintenance_terminal_delete ON jobs IS
    'jobs_api_maintenance itself (inside prune_jobs; not its members) may delete terminal jobs only; their events go by ON DELETE CASCADE.';
COMMENT ON POLICY maintenance_terminal_select ON job_events IS
    'jobs_api_maintenance itself (inside prune_jobs; not its members) sees the events of terminal jobs only, to count what prune_jobs deletes.';

CREATE FUNCTION prune_jobs(p_older_than interval, p_statuses text[] DEFAULT NULL,
                           p_batch_size integer DEFAULT 1000, p_dry_run boolean DEFAULT false)
    RETURNS TABLE (jobs_deleted bigint, events_deleted bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    c_terminal constant text[] := ARRAY['completed', 'completed_with_warnings', 'partial_success', 'failed', 'cancelled'];
    v_statuses text[];
    v_bad text[];
    v_cutoff timestamptz;
    v_prev text := current_setting('app.organization_id', true);
BEGIN
    IF p_older_than IS NULL OR p_older_than < interval '0' THEN
        RAISE EXCEPTION 'prune_jobs: p_older_than must be a non-negative interval, e.g. ''90 days''' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'prune_jobs: p_batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_dry_run IS NULL THEN
        RAISE EXCEPTION 'prune_jobs: p_dry_run must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_statuses IS NULL THEN
        v_statuses := c_terminal;
    ELSE
        SELECT array_agg(DISTINCT coalesce(s, 'NULL') ORDER BY coalesce(s, 'NULL')) INTO v_bad
        FROM unnest(p_statuses) AS s
        WHERE s IS NULL OR NOT (s = ANY (c_terminal));
        IF cardinality(p_statuses) = 0 OR v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'prune_jobs: p_statuses must list terminal statuses only (not %)', coalesce(array_to_string(v_bad, ', '), 'an empty list')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Terminal statuses: completed, completed_with_warnings, partial_success, failed, cancelled; NULL means all of them.';
        END IF;
        v_statuses := p_statuses;
    END IF;
    v_cutoff := now() - p_older_than;
    -- Only the maintenance policies (terminal jobs of every organization) should apply, not
    -- tenant_isolation for an organization the caller happens to have set.
    PERFORM set_config('app.organization_id', '', true);

    IF p_dry_run THEN
        RETURN QUERY
        SELECT count(*)::bigint,
               coalesce(sum((SELECT count(*) FROM job_events AS e
                             WHERE e.organization_id = j.organization_id AND e.job_id = j.job_id)), 0)::bigint
        FROM jobs AS j
        WHERE j.completed_at < v_cutoff AND j.status = ANY (v_statuses);
    ELSE
        -- One batch: the oldest matching jobs. Every CTE reads the statement's snapshot, so
        -- the events of the deleted jobs are counted before the cascade removes them.
        RETURN QUERY
        WITH batch AS (
            SELECT j.organization_id, j.job_id
            FROM jobs AS j
            WHERE j.completed_at < v_cutoff AND j.status = ANY (v_statuses)
            ORDER BY j.completed_at
            LIMIT p_batch_size
        ), deleted AS (
            DELETE FROM jobs AS j
            USING batch AS b
            WHERE j.organization_id = b.organization_id AND j.job_id = b.job_id
              AND j.completed_at < v_cutoff AND j.status = ANY (v_statuses)
            RETURNING j.organization_id, j.job_id
        )
        SELECT (SELECT count(*) FROM deleted)::bigint,
               (SELECT count(*) FROM job_events AS e
                JOIN deleted AS d ON d.organization_id = e.organization_id AND d.job_id = e.job_id)::bigint;
    END IF;
    PERFORM set_config('app.organization_id', coalesce(v_prev, ''), true);
END
$$;

COMMENT ON FUNCTION prune_jobs(interval, text[], integer, boolean) IS
    'Retention: deletes up to p_batch_size TERMINAL jobs (all organizations; only p_statuses if given, which must all be terminal) whose completed_at < now() - p_older_than, oldest first, with their events (ON DELETE CASCADE); returns (jobs_deleted, events_deleted) for this batch. Call it in a loop until jobs_deleted < p_batch_size: each call is one short transaction (jobs-api prune --older-than 90d does this). p_dry_run => true only counts every matching job and its events. SECURITY DEFINER owned by jobs_api_maintenance, whose RLS policies allow terminal jobs only; EXECUTE for the owner role only.';

-- A non-superuser may only give an object to a role that has CREATE on its schema;
-- grant it to jobs_api_maintenance just for the hand-over when it lacks it (as 0002 does).
DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_maintenance', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_maintenance;
    END IF;
    ALTER FUNCTION prune_jobs(interval, text[], integer, boolean) OWNER TO jobs_api_maintenance;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_maintenance;
    END IF;
    REVOKE ALL ON FUNCTION prune_jobs(interval, text[], integer, boolean) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION prune_jobs(interval, text[], integer, boolean) TO %I', current_user);
END
$$;
