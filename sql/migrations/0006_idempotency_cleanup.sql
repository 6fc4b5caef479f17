-- 0006_idempotency_cleanup.sql — automatic deletion of expired Idempotency-Key records.
--
-- What: a NOLOGIN role jobs_api_maintenance, allowed (by its own RLS policies) to see and
-- delete only EXPIRED idempotency records of any organization, and the SECURITY DEFINER
-- function purge_expired_idempotency_keys(p_limit) it owns. The server calls the function
-- on a timer (IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS); DBAs may call it from psql too.
-- Why: keys count for 24 hours (spec §5); afterwards they are dead weight. The server's own
-- role sees one organization at a time, so it could not sweep them all itself.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_maintenance') THEN
        CREATE ROLE jobs_api_maintenance NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE jobs_api_maintenance IS
            'jobs-api: owner of SECURITY DEFINER housekeeping functions (expired idempotency records). Nobody should log in as it.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_maintenance' AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role jobs_api_maintenance exists with SUPERUSER or BYPASSRLS; refusing to continue';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   WHERE m.roleid = 'jobs_api_maintenance'::regrole
                     AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
        EXECUTE format('GRANT jobs_api_maintenance TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jobs_api_maintenance;
GRANT SELECT, DELETE ON idempotency_keys TO jobs_api_maintenance;

-- Policies granted to a role also apply to its members, and the migrating owner is a member of
-- jobs_api_maintenance: the current_user test keeps them to the function's own execution.
CREATE POLICY maintenance_expired_select ON idempotency_keys FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance' AND expires_at <= now());
CREATE POLICY maintenance_expired_delete ON idempotency_keys FOR DELETE TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance' AND expires_at <= now());
COMMENT ON POLICY maintenance_expired_select ON idempotency_keys IS
    'jobs_api_maintenance sees expired records only (of every organization), to delete them.';
COMMENT ON POLICY maintenance_expired_delete ON idempotency_keys IS
    'jobs_api_maintenance may delete expired records only.';

CREATE FUNCTION purge_expired_idempotency_keys(p_limit integer DEFAULT 10000)
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    WITH doomed AS (
        SELECT organization_id, idempotency_key
        FROM idempotency_keys
        WHERE expires_at <= now()
        ORDER BY expires_at
        LIMIT greatest(p_limit, 0)
    ), deleted AS (
        DELETE FROM idempotency_keys k
        USING doomed d
        WHERE k.organization_id = d.organization_id AND k.idempotency_key = d.idempotency_key
        RETURNING 1
    )
    SELECT count(*) FROM deleted
$$;

-- A non-superuser may only give an object to a role that has CREATE on its schema;
-- grant it to jobs_api_maintenance just for the hand-over when it lacks it.
DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_maintenance', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_maintenance;
    END IF;
    ALTER FUNCTION purge_expired_idempotency_keys(integer) OWNER TO jobs_api_maintenance;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_maintenance;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION purge_expired_idempotency_keys(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_expired_idempotency_keys(integer) TO jobs_api_app;
COMMENT ON FUNCTION purge_expired_idempotency_keys(integer) IS
    'Deletes up to p_limit expired Idempotency-Key records (all organizations) and returns how many. Called by the server on a timer; safe to call from psql.';
