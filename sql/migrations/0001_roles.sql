-- 0001_roles.sql — database roles used by jobs-api, and schema-level privileges.
--
-- What: creates two NOLOGIN roles and lets the migrating user act as them:
--   jobs_api_app   the role the server runs every request under (the server logs in
--                  as some user and does `SET ROLE jobs_api_app`). It owns nothing,
--                  is not a superuser and cannot bypass row-level security, so the
--                  RLS policies of the later migrations always apply to it.
--   jobs_api_auth  owns the SECURITY DEFINER credential-lookup functions
--                  (auth_api_key, auth_session; see 0002). It is the only role that
--                  may read credentials across organizations.
-- Why: the server must never be able to read or write another organization's rows,
-- even through a query that forgets its WHERE clause (spec §1, §7).
--
-- Roles are cluster-global and several databases of one cluster may run this file,
-- so each role is created only if missing. An existing jobs_api_app that is a
-- superuser or has BYPASSRLS is refused: RLS would be meaningless for it.
-- Runs inside the migrator's transaction, as the database owner.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_app') THEN
        CREATE ROLE jobs_api_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE jobs_api_app IS
            'jobs-api server role (SET ROLE jobs_api_app after login). Owns nothing; subject to row-level security; sees only the organization in app.organization_id.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobs_api_auth') THEN
        CREATE ROLE jobs_api_auth NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE jobs_api_auth IS
            'jobs-api: owner of the SECURITY DEFINER functions auth_api_key/auth_session; may read credentials of every organization. Nobody should log in as it.';
    END IF;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
               WHERE rolname IN ('jobs_api_app', 'jobs_api_auth') AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role jobs_api_app or jobs_api_auth exists with SUPERUSER or BYPASSRLS; refusing to continue'
            USING HINT = 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS, then migrate again.';
    END IF;

    -- The migrating user must be a member of both roles: of jobs_api_app so the
    -- server (logging in as this user) can SET ROLE to it, of jobs_api_auth so
    -- ALTER FUNCTION ... OWNER TO jobs_api_auth works for a non-superuser owner.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   WHERE m.roleid = 'jobs_api_app'::regrole AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
        EXECUTE format('GRANT jobs_api_app TO %I', current_user);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                   WHERE m.roleid = 'jobs_api_auth'::regrole AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
        EXECUTE format('GRANT jobs_api_auth TO %I', current_user);
    END IF;
END
$$;

-- Nobody but the owner creates objects in public (already the default on PG15;
-- on PG14 PUBLIC could, which would let the app role plant functions or tables).
-- On PG14 a non-superuser owner only gets a WARNING here, which is harmless.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO jobs_api_app, jobs_api_auth;

-- /readyz compares the applied migrations with the ones the binary knows.
-- The migrator creates schema_migrations before applying any file; the guard only
-- matters when a DBA applies this file by hand with psql.
DO $$
BEGIN
    IF to_regclass('public.schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON public.schema_migrations TO jobs_api_app;
    ELSE
        RAISE NOTICE 'schema_migrations does not exist yet; jobs_api_app was not granted SELECT on it';
    END IF;
END
$$;
