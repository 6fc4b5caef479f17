-- 0011_stytch_organizations.sql — organizations linked to Stytch B2B organizations.
--
-- What: organizations.stytch_organization_id (unique, optional) and
-- auth_stytch_organization(text), the lookup the server makes when a person signs in through
-- Stytch: the Stytch session names a Stytch organization, and the person acts only in the one
-- organization of ours linked to it (`jobs-api org create ORG --stytch-organization-id ID` or
-- `jobs-api org link ORG ID`). An unlinked Stytch organization acts nowhere (403).
-- Why a SECURITY DEFINER function: like auth_api_key/auth_session, the runtime role
-- (jobs_api_app) cannot read organizations across tenants (RLS); jobs_api_auth can.

ALTER TABLE organizations ADD COLUMN stytch_organization_id text;
ALTER TABLE organizations ADD CONSTRAINT organizations_stytch_organization_id_key UNIQUE (stytch_organization_id);
ALTER TABLE organizations ADD CONSTRAINT organizations_stytch_organization_id_length
    CHECK (stytch_organization_id IS NULL OR char_length(stytch_organization_id) BETWEEN 1 AND 255);

COMMENT ON COLUMN organizations.stytch_organization_id IS
    'The Stytch B2B organization (organization-live-... / organization-test-...) whose members act in this organization when they sign in through Stytch; NULL: none. Unique: a Stytch organization links to one organization at most.';

CREATE FUNCTION auth_stytch_organization(p_stytch_organization_id text)
    RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT o.organization_id FROM organizations AS o WHERE o.stytch_organization_id = p_stytch_organization_id
$$;

COMMENT ON FUNCTION auth_stytch_organization(text) IS
    'The organization_id linked to a Stytch organization id, NULL when none is. SECURITY DEFINER (owner jobs_api_auth); EXECUTE for jobs_api_app only.';

DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_auth', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_auth;
    END IF;
    ALTER FUNCTION auth_stytch_organization(text) OWNER TO jobs_api_auth;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_auth;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION auth_stytch_organization(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_stytch_organization(text) TO jobs_api_app;
