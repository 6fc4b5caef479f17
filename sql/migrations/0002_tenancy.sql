-- 0002_tenancy.sql — organizations, users, memberships, API keys, sessions,
-- the tenant-isolation policies and the credential-lookup functions.
--
-- Tenancy model (spec §1, §7):
--   * The server sets the acting organization per transaction:
--       SELECT set_config('app.organization_id', $1, true);
--     app_current_organization() reads it back (NULL when unset or empty).
--   * Every tenant table has organization_id first in its primary key, and
--     row-level security is ENABLED and FORCED on it, with one policy
--     "tenant_isolation" (TO PUBLIC, so it binds jobs_api_app, the table owner and
--     any future role alike): a row is visible / writable only when its
--     organization_id equals app_current_organization(). No organization set ->
--     nothing visible, nothing writable. Superusers bypass RLS (PostgreSQL rule);
--     a non-superuser owner must set app.organization_id like the server does.
--   * users and sessions are not organization-scoped: no RLS, and the app role has
--     no privilege on them at all.
--   * Tokens are stored only as SHA-256 (32 bytes). The server authenticates through
--     two SECURITY DEFINER functions owned by jobs_api_auth, which are the only way
--     jobs_api_app can resolve a token before it knows the organization.

-- ---------------------------------------------------------------------------
-- Tenant helper
-- ---------------------------------------------------------------------------
CREATE FUNCTION app_current_organization() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.organization_id', true), '') $$;

COMMENT ON FUNCTION app_current_organization() IS
    'Organization the current transaction acts in: the setting app.organization_id (set with set_config(''app.organization_id'', id, true)), NULL when unset or empty. Used by every tenant_isolation policy.';

-- ---------------------------------------------------------------------------
-- organizations
-- ---------------------------------------------------------------------------
CREATE TABLE organizations (
    organization_id text        NOT NULL,
    name            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (organization_id),
    CONSTRAINT organizations_organization_id_length CHECK (char_length(organization_id) BETWEEN 1 AND 255),
    CONSTRAINT organizations_name_length CHECK (name IS NULL OR char_length(name) BETWEEN 1 AND 1024)
);

COMMENT ON TABLE organizations IS
    'Tenants. One row per organization; every tenant table references it. RLS: a session sees only the row of app.organization_id (jobs_api_auth sees all).';
COMMENT ON COLUMN organizations.organization_id IS 'Tenant id, text (may come from an identity provider, e.g. org_acme); 1-255 characters. Sent by clients in X-Organization-ID.';
COMMENT ON COLUMN organizations.name IS 'Human-readable name, for people only; NULL if none was given.';
COMMENT ON COLUMN organizations.created_at IS 'When the organization was created.';

-- ---------------------------------------------------------------------------
-- users (global, not tenant-scoped)
-- ---------------------------------------------------------------------------
CREATE TABLE users (
    user_id    text        NOT NULL,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (user_id),
    CONSTRAINT users_user_id_length CHECK (char_length(user_id) BETWEEN 1 AND 255),
    CONSTRAINT users_email_length CHECK (email IS NULL OR char_length(email) BETWEEN 1 AND 320)
);

COMMENT ON TABLE users IS
    'People who sign in with a session. Global (a user may belong to several organizations through memberships). No RLS; jobs_api_app has no privilege on it.';
COMMENT ON COLUMN users.user_id IS 'User id, text (e.g. user_7 or an identity-provider id); 1-255 characters. Stored as triggered_by on jobs the user creates.';
COMMENT ON COLUMN users.email IS 'Contact e-mail address, informational only (not unique, not used to authenticate); NULL if unknown.';
COMMENT ON COLUMN users.created_at IS 'When the user was created.';

-- ---------------------------------------------------------------------------
-- memberships
-- ---------------------------------------------------------------------------
CREATE TABLE memberships (
    organization_id text        NOT NULL,
    user_id         text        NOT NULL,
    role            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_pkey PRIMARY KEY (organization_id, user_id),
    CONSTRAINT memberships_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (organization_id) ON DELETE CASCADE,
    CONSTRAINT memberships_user_fkey FOREIGN KEY (user_id)
        REFERENCES users (user_id) ON DELETE CASCADE,
    CONSTRAINT memberships_role_valid CHECK (role IN ('viewer', 'editor', 'admin', 'owner'))
);

CREATE INDEX memberships_user_id_idx ON memberships (user_id);

COMMENT ON TABLE memberships IS
    'Which users belong to which organization, with one role each. Tenant table (RLS on organization_id); read across organizations only by auth_session().';
COMMENT ON COLUMN memberships.organization_id IS 'Organization the user belongs to (tenant key).';
COMMENT ON COLUMN memberships.user_id IS 'The member.';
COMMENT ON COLUMN memberships.role IS 'Role of the user in this organization: viewer (job:read), editor and admin (job:read, job:create, job:cancel), owner (as admin, plus keys and members).';
COMMENT ON COLUMN memberships.created_at IS 'When the membership was created.';
COMMENT ON COLUMN memberships.updated_at IS 'When the membership (its role) last changed; set by the writer.';
COMMENT ON INDEX memberships_user_id_idx IS 'Finds the organizations of a user (auth_session) and serves the users foreign key.';

-- ---------------------------------------------------------------------------
-- api_keys
-- ---------------------------------------------------------------------------
CREATE TABLE api_keys (
    organization_id text        NOT NULL,
    key_id          text        NOT NULL DEFAULT 'key_' || replace(gen_random_uuid()::text, '-', ''),
    name            text,
    role            text        NOT NULL DEFAULT 'editor',
    token_hash      bytea       NOT NULL,
    token_prefix    text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    last_used_at    timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (organization_id, key_id),
    CONSTRAINT api_keys_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_keys_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (organization_id) ON DELETE CASCADE,
    CONSTRAINT api_keys_key_id_length CHECK (char_length(key_id) BETWEEN 1 AND 255),
    CONSTRAINT api_keys_name_length CHECK (name IS NULL OR char_length(name) BETWEEN 1 AND 1024),
    CONSTRAINT api_keys_role_valid CHECK (role IN ('viewer', 'editor', 'admin', 'owner')),
    CONSTRAINT api_keys_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT api_keys_token_prefix_length CHECK (char_length(token_prefix) BETWEEN 1 AND 32)
);

COMMENT ON TABLE api_keys IS
    'API keys (bearer tokens for workers). Each belongs to one organization and carries a role. Only the SHA-256 of the token is stored. Tenant table (RLS); looked up across organizations only by auth_api_key().';
COMMENT ON COLUMN api_keys.organization_id IS 'Organization the key acts in (tenant key).';
COMMENT ON COLUMN api_keys.key_id IS 'Key id (not secret), e.g. key_<32 hex>; generated by default. Used to list and revoke keys.';
COMMENT ON COLUMN api_keys.name IS 'Human label given at creation (e.g. "nightly importer"); NULL if none.';
COMMENT ON COLUMN api_keys.role IS 'Role the key acts with: viewer, editor (default), admin or owner.';
COMMENT ON COLUMN api_keys.token_hash IS 'SHA-256 of the full token, 32 bytes; the token itself is shown once and never stored. Unique across all organizations.';
COMMENT ON COLUMN api_keys.token_prefix IS 'First characters of the token (about 8), so people can recognise a key in listings; too short to help guess it.';
COMMENT ON COLUMN api_keys.created_at IS 'When the key was created.';
COMMENT ON COLUMN api_keys.revoked_at IS 'When the key was revoked; NULL while it is valid. Revoked keys no longer authenticate.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Optional: last time the key authenticated a request, if the server records it; NULL otherwise.';

-- ---------------------------------------------------------------------------
-- sessions (user-scoped, not tenant-scoped)
-- ---------------------------------------------------------------------------
CREATE TABLE sessions (
    session_id text        NOT NULL DEFAULT 'ses_' || replace(gen_random_uuid()::text, '-', ''),
    user_id    text        NOT NULL,
    token_hash bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT sessions_pkey PRIMARY KEY (session_id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id)
        REFERENCES users (user_id) ON DELETE CASCADE,
    CONSTRAINT sessions_session_id_length CHECK (char_length(session_id) BETWEEN 1 AND 255),
    CONSTRAINT sessions_token_hash_sha256 CHECK (octet_length(token_hash) = 32)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

COMMENT ON TABLE sessions IS
    'Sessions of people, for the built-in session verifier (created by the admin CLI). Belong to a user, not to an organization. No RLS; jobs_api_app has no privilege on it and uses auth_session().';
COMMENT ON COLUMN sessions.session_id IS 'Session id (not secret), e.g. ses_<32 hex>; generated by default. Used to revoke a session.';
COMMENT ON COLUMN sessions.user_id IS 'The user the session belongs to.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the session token, 32 bytes; the token is shown once and never stored. Unique.';
COMMENT ON COLUMN sessions.created_at IS 'When the session was created.';
COMMENT ON COLUMN sessions.expires_at IS 'The session authenticates only while now() < expires_at.';
COMMENT ON COLUMN sessions.revoked_at IS 'When the session was revoked (ended); NULL while it is valid.';
COMMENT ON INDEX sessions_user_id_idx IS 'Finds the sessions of a user (revoke all) and serves the users foreign key.';

-- ---------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE memberships   ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships   FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys      ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys      FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON organizations TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());
CREATE POLICY tenant_isolation ON memberships TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());
CREATE POLICY tenant_isolation ON api_keys TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());

-- jobs_api_auth resolves tokens before any organization is known.
CREATE POLICY auth_lookup ON organizations FOR SELECT TO jobs_api_auth USING (true);
CREATE POLICY auth_lookup ON memberships   FOR SELECT TO jobs_api_auth USING (true);
CREATE POLICY auth_lookup ON api_keys      FOR SELECT TO jobs_api_auth USING (true);

COMMENT ON POLICY tenant_isolation ON organizations IS 'Only the row of app_current_organization() is visible; nothing without an organization set.';
COMMENT ON POLICY tenant_isolation ON memberships IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';
COMMENT ON POLICY tenant_isolation ON api_keys IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';
COMMENT ON POLICY auth_lookup ON organizations IS 'jobs_api_auth (owner of the auth_* functions) reads every organization.';
COMMENT ON POLICY auth_lookup ON memberships IS 'jobs_api_auth (owner of auth_session) reads every membership.';
COMMENT ON POLICY auth_lookup ON api_keys IS 'jobs_api_auth (owner of auth_api_key) reads every key.';

-- ---------------------------------------------------------------------------
-- Privileges. The app manages keys and members of its own organization
-- (revocation is an UPDATE of revoked_at); it never deletes them.
-- ---------------------------------------------------------------------------
REVOKE ALL ON organizations, users, memberships, api_keys, sessions FROM PUBLIC;
GRANT SELECT                 ON organizations         TO jobs_api_app;
GRANT SELECT, INSERT, UPDATE ON memberships, api_keys TO jobs_api_app;
GRANT SELECT ON organizations, users, memberships, api_keys, sessions TO jobs_api_auth;

-- ---------------------------------------------------------------------------
-- Credential lookups (SECURITY DEFINER, owned by jobs_api_auth)
-- ---------------------------------------------------------------------------
CREATE FUNCTION auth_api_key(p_token_hash bytea)
    RETURNS TABLE (organization_id text, key_id text, role text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT k.organization_id, k.key_id, k.role
    FROM api_keys AS k
    WHERE k.token_hash = p_token_hash
      AND k.revoked_at IS NULL
$$;

COMMENT ON FUNCTION auth_api_key(bytea) IS
    'Resolves an API key: given SHA-256(token), returns (organization_id, key_id, role) of the non-revoked key, or no row. Unique-index lookup on the hash, so timing reveals nothing about other tokens. SECURITY DEFINER (owner jobs_api_auth); EXECUTE for jobs_api_app only.';

CREATE FUNCTION auth_session(p_token_hash bytea)
    RETURNS TABLE (user_id text, organization_id text, role text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    SELECT s.user_id, m.organization_id, m.role
    FROM sessions AS s
    LEFT JOIN memberships AS m ON m.user_id = s.user_id
    WHERE s.token_hash = p_token_hash
      AND s.revoked_at IS NULL
      AND s.expires_at > now()
    ORDER BY m.organization_id
$$;

COMMENT ON FUNCTION auth_session(bytea) IS
    'Resolves a session token: given SHA-256(token) of a live session (not revoked, not expired), one row (user_id, organization_id, role) per membership of its user; one row with organization_id and role NULL if the user has no membership; no row for an unknown, revoked or expired token. SECURITY DEFINER (owner jobs_api_auth); EXECUTE for jobs_api_app only.';

-- A non-superuser may only give an object to a role that has CREATE on its schema;
-- grant it to jobs_api_auth just for the hand-over when it lacks it.
DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_auth', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_auth;
    END IF;
    ALTER FUNCTION auth_api_key(bytea) OWNER TO jobs_api_auth;
    ALTER FUNCTION auth_session(bytea) OWNER TO jobs_api_auth;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_auth;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION auth_api_key(bytea), auth_session(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key(bytea), auth_session(bytea) TO jobs_api_app;
