-- 0009_least_privilege.sql — the server logs in as a role that can only do what the app does.
--
-- What:
--   * Revokes from jobs_api_app what the server never uses: every privilege on organizations,
--     memberships and api_keys (credential lookups go through the SECURITY DEFINER functions
--     auth_api_key / auth_session; the admin commands run as the owner).
--   * jobs_api_server: the LOGIN role `jobs-api serve` connects as (APP_DATABASE_URL). It is a
--     member of jobs_api_app and of nothing else, owns nothing, is not a superuser, cannot
--     create roles or databases and cannot bypass RLS, so `RESET ROLE` gains it nothing. It is
--     created here only when the migrating user may create roles; otherwise a NOTICE says how
--     to create it. It has no password: `jobs-api migrate` sets one from APP_DB_PASSWORD (as a
--     SCRAM verifier), or a DBA does (`\password jobs_api_server` in psql).
--   * The server's own housekeeping keeps working under that role: EXECUTE on prune_jobs
--     (SECURITY DEFINER, owned by jobs_api_maintenance, which may delete terminal jobs only).
--   * api_key_organization(key_id): which organization a key id belongs to, so the admin
--     command `jobs-api apikey revoke KEY_ID` needs neither the secret token nor the
--     organization. SECURITY DEFINER owned by jobs_api_auth; EXECUTE for the owner only.
-- Why: before this, `serve` logged in as the owner (a superuser in scripts/run and
-- docker-compose.yml) and did SET ROLE jobs_api_app, so one RESET ROLE separated the app from
-- the whole database.
-- Runs inside the migrator's transaction, as the database owner.

REVOKE ALL ON organizations, memberships, api_keys FROM jobs_api_app;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_server') THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_server'
                   AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)) THEN
            RAISE EXCEPTION 'role jobs_api_server exists with SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB; refusing to continue'
                USING HINT = 'ALTER ROLE jobs_api_server NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB, then migrate again.';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        -- Roles are cluster-wide but the migrator's advisory lock is per database: a migration
        -- of another database of the cluster may create the role at the same moment.
        BEGIN
            CREATE ROLE jobs_api_server LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
                IN ROLE jobs_api_app;
            COMMENT ON ROLE jobs_api_server IS
                'jobs-api: the login role of `jobs-api serve` (APP_DATABASE_URL). Member of jobs_api_app only; owns nothing. Set its password with APP_DB_PASSWORD at `jobs-api migrate`, or \password in psql.';
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by the migration of another database
        END;
    ELSE
        RAISE NOTICE 'jobs_api_server was not created (the migrating user cannot create roles). Create it: CREATE ROLE jobs_api_server LOGIN PASSWORD ''...'' IN ROLE jobs_api_app;';
    END IF;
END
$$;

-- In-server pruning (PRUNE_AFTER) runs as the server's role.
GRANT EXECUTE ON FUNCTION prune_jobs(interval, text[], integer, boolean) TO jobs_api_app;
COMMENT ON FUNCTION prune_jobs(interval, text[], integer, boolean) IS
    'Retention: deletes up to p_batch_size TERMINAL jobs (all organizations; only p_statuses if given, which must all be terminal) whose completed_at < now() - p_older_than, oldest first, with their events (ON DELETE CASCADE); returns (jobs_deleted, events_deleted) for this batch. Call it in a loop until jobs_deleted < p_batch_size: each call is one short transaction (jobs-api prune --older-than 90d does this). p_dry_run => true only counts every matching job and its events. SECURITY DEFINER owned by jobs_api_maintenance, whose RLS policies allow terminal jobs only; EXECUTE for the owner role and jobs_api_app (the server''s PRUNE_AFTER schedule).';

CREATE FUNCTION api_key_organization(p_key_id text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT organization_id FROM public.api_keys WHERE key_id = p_key_id LIMIT 1
$$;
COMMENT ON FUNCTION api_key_organization(text) IS
    'The organization of the API key with this key_id (as `jobs-api apikey list` shows it), or NULL. For `jobs-api apikey revoke KEY_ID`. SECURITY DEFINER (owner jobs_api_auth); EXECUTE for the migrating owner only.';

DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_auth', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_auth;
    END IF;
    ALTER FUNCTION api_key_organization(text) OWNER TO jobs_api_auth;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_auth;
    END IF;
    REVOKE ALL ON FUNCTION api_key_organization(text) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION api_key_organization(text) TO %I', current_user);
END
$$;
