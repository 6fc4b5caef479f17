-- 0004_idempotency.sql — recorded responses for Idempotency-Key retries (spec §5).
--
-- What: one row per (organization, Idempotency-Key) seen within 24 hours, holding a
-- hash of the request it guarded and the successful (2xx) response to replay.
-- Why: POST /api/jobs/, /progress and /cancel may be retried by workers; a retry
-- with the same key and the same request gets the original response without being
-- applied again. The row is written in the same transaction as the change it guards,
-- so the primary key also serialises two identical requests racing with one key
-- (the second INSERT waits for the first transaction, then sees its row).
-- Keys are per organization (primary key starts with organization_id; RLS forced).
-- Expired rows (expires_at <= now()) are treated as absent; the server deletes
-- them for its organization, a DBA/prune job may delete them in bulk via
-- idempotency_keys_expires_at_idx.

CREATE TABLE idempotency_keys (
    organization_id  text        NOT NULL,
    idempotency_key  text        NOT NULL,
    method           text        NOT NULL,
    path             text        NOT NULL,
    request_hash     bytea       NOT NULL,
    response_status  integer,
    response_body    text,
    response_headers jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (organization_id, idempotency_key),
    CONSTRAINT idempotency_keys_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (organization_id) ON DELETE CASCADE,
    -- 1-255 printable ASCII characters (0x20-0x7E), as the contract requires.
    CONSTRAINT idempotency_keys_key_format CHECK (idempotency_key ~ '^[ -~]{1,255}$'),
    CONSTRAINT idempotency_keys_method_format CHECK (method ~ '^[A-Z]{1,16}$'),
    CONSTRAINT idempotency_keys_path_length CHECK (char_length(path) BETWEEN 1 AND 2048),
    CONSTRAINT idempotency_keys_request_hash_sha256 CHECK (octet_length(request_hash) = 32),
    CONSTRAINT idempotency_keys_response_status_2xx CHECK (response_status BETWEEN 200 AND 299),
    CONSTRAINT idempotency_keys_response_headers_object CHECK (jsonb_typeof(response_headers) = 'object'),
    CONSTRAINT idempotency_keys_expiry_after_creation CHECK (expires_at > created_at)
);

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

COMMENT ON TABLE idempotency_keys IS
    'Idempotency-Key records: the request each key guarded (as a hash) and the 2xx response to replay, kept 24 hours. Tenant table (RLS on organization_id); keys are scoped to the organization.';
COMMENT ON COLUMN idempotency_keys.organization_id IS 'Organization the request acted in (tenant key); the same key in two organizations is two records.';
COMMENT ON COLUMN idempotency_keys.idempotency_key IS 'Value of the Idempotency-Key header, 1-255 printable ASCII characters.';
COMMENT ON COLUMN idempotency_keys.method IS 'HTTP method of the guarded request (POST).';
COMMENT ON COLUMN idempotency_keys.path IS 'Request path without trailing slash (e.g. /api/jobs/job_.../progress).';
COMMENT ON COLUMN idempotency_keys.request_hash IS 'SHA-256 (32 bytes) of method, path and canonical JSON body, computed by the server; a retry with a different hash is a 422 (key reused).';
COMMENT ON COLUMN idempotency_keys.response_status IS 'HTTP status of the recorded response (2xx only); NULL only while the guarded transaction has not yet stored its response.';
COMMENT ON COLUMN idempotency_keys.response_body IS 'Response body to replay, verbatim (JSON text); NULL only while not yet stored.';
COMMENT ON COLUMN idempotency_keys.response_headers IS 'Response headers to replay, as a JSON object of name -> value (e.g. Location for a create).';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the key was first used.';
COMMENT ON COLUMN idempotency_keys.expires_at IS 'When the record stops counting (default created_at + 24 hours); after it the key is free again.';
COMMENT ON INDEX idempotency_keys_expires_at_idx IS 'Bulk deletion of expired records.';

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON idempotency_keys TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());

COMMENT ON POLICY tenant_isolation ON idempotency_keys IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';

-- DELETE: the server removes expired records of its own organization.
REVOKE ALL ON idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO jobs_api_app;
