-- 0008_auth_policies_own_role_only.sql — keep the credential-lookup policies to jobs_api_auth itself.
--
-- What: the auth_lookup policies of 0002 (SELECT on organizations, memberships, api_keys
-- USING (true), granted TO jobs_api_auth) now also require current_user = 'jobs_api_auth'.
-- Why: a policy granted to a role applies to every member of that role too, and the migrating
-- owner is a member of jobs_api_auth (so it can hand the auth_* functions over). Without this
-- test a non-superuser owner in psql would see every organization's keys and memberships,
-- bypassing the tenant rule. Inside auth_api_key / auth_session (SECURITY DEFINER, owned by
-- jobs_api_auth) current_user is jobs_api_auth, so the lookups work exactly as before.

ALTER POLICY auth_lookup ON organizations USING (current_user = 'jobs_api_auth');
ALTER POLICY auth_lookup ON memberships USING (current_user = 'jobs_api_auth');
ALTER POLICY auth_lookup ON api_keys USING (current_user = 'jobs_api_auth');

COMMENT ON POLICY auth_lookup ON organizations IS
    'Inside the auth_* functions only (current_user = jobs_api_auth): read every organization.';
COMMENT ON POLICY auth_lookup ON memberships IS
    'Inside auth_session only (current_user = jobs_api_auth): read every membership.';
COMMENT ON POLICY auth_lookup ON api_keys IS
    'Inside auth_api_key only (current_user = jobs_api_auth): read every key.';
