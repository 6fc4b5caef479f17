-- 0012_webhooks.sql — webhooks on job events: endpoints, the outbox, and its delivery history.
--
-- What:
--   * webhook_endpoints: per organization, where to POST which job events (job.completed,
--     job.failed, ...), with the Standard Webhooks signing secret (whsec_...) and, during a
--     rotation, the previous one. An endpoint failing for longer than the server's retry window
--     (WEBHOOK_RETRY_FOR, a day by default) is disabled (enabled = false, disabled_at, reason).
--   * webhook_outbox: one row per (event, endpoint). The server inserts it IN THE SAME
--     TRANSACTION as the job's status change (the writer's statement), so an event is never
--     lost once the change committed, and never sent for a change that rolled back. Any instance
--     delivers it: webhook_claim() takes due rows with FOR UPDATE SKIP LOCKED and leases them
--     (next_attempt_at moves past the request timeout), so two instances never send one row at
--     the same time, and a crashed instance's lease simply expires (at least once). The row is
--     also the delivery history (state, attempts, last status and latency).
--   * webhook_claim / webhook_purge_history: SECURITY DEFINER, owned by jobs_api_maintenance,
--     whose own RLS policies let it see and lease outbox rows of every organization; EXECUTE for
--     jobs_api_app (the server). Everything else runs as the tenant (RLS as for jobs).
--   * dba_webhook_deliveries: the delivery history for psql.
-- Why this shape: see docs/scaling.md (Citus): both tables lead with organization_id and are
-- colocated with jobs.

CREATE TABLE webhook_endpoints (
    organization_id           text        NOT NULL,
    endpoint_id               text        NOT NULL,
    url                       text        NOT NULL,
    secret                    text        NOT NULL,
    previous_secret           text,
    previous_secret_expires_at timestamptz,
    events                    text[]      NOT NULL,
    enabled                   boolean     NOT NULL DEFAULT true,
    failing_since             timestamptz,
    disabled_at               timestamptz,
    disabled_reason           text,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (organization_id, endpoint_id),
    CONSTRAINT webhook_endpoints_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (organization_id) ON DELETE CASCADE,
    CONSTRAINT webhook_endpoints_endpoint_id_length CHECK (char_length(endpoint_id) BETWEEN 1 AND 64),
    CONSTRAINT webhook_endpoints_url_valid CHECK (char_length(url) BETWEEN 8 AND 2048 AND url ~ '^https?://'),
    CONSTRAINT webhook_endpoints_secret_valid CHECK (secret LIKE 'whsec\_%' AND char_length(secret) <= 200),
    CONSTRAINT webhook_endpoints_previous_secret_valid CHECK (previous_secret IS NULL OR previous_secret LIKE 'whsec\_%'),
    CONSTRAINT webhook_endpoints_events_valid CHECK (cardinality(events) BETWEEN 1 AND 32),
    CONSTRAINT webhook_endpoints_disabled_reason_length CHECK (disabled_reason IS NULL OR char_length(disabled_reason) <= 2000)
);

COMMENT ON TABLE webhook_endpoints IS
    'Webhook endpoints of an organization: where the server POSTs which job events, signed as the Standard Webhooks specification says. Tenant table (RLS on organization_id). Managed with `jobs-api webhook add|list|remove|rotate-secret` and the owner-only /api/webhooks routes.';
COMMENT ON COLUMN webhook_endpoints.organization_id IS 'Organization that owns the endpoint (tenant key).';
COMMENT ON COLUMN webhook_endpoints.endpoint_id IS 'Server-generated id (whep_...).';
COMMENT ON COLUMN webhook_endpoints.url IS 'http(s) URL the events are POSTed to. Redirects are not followed; loopback, link-local and private addresses are refused at each delivery unless WEBHOOK_ALLOWED_HOSTS allows the host.';
COMMENT ON COLUMN webhook_endpoints.secret IS 'Signing secret, whsec_ + base64 of 32 random bytes (HMAC-SHA256 key). Shown once when created or rotated; never returned by the API afterwards.';
COMMENT ON COLUMN webhook_endpoints.previous_secret IS 'The secret before the last rotation; deliveries are signed with both until previous_secret_expires_at, so receivers can switch without a gap.';
COMMENT ON COLUMN webhook_endpoints.previous_secret_expires_at IS 'When previous_secret stops being used (24 hours after the rotation).';
COMMENT ON COLUMN webhook_endpoints.events IS 'Event types delivered to this endpoint (job.completed, job.completed_with_warnings, job.partial_success, job.failed, job.cancelled, job.stalled).';
COMMENT ON COLUMN webhook_endpoints.enabled IS 'false: no new events are queued for it and queued ones wait; set when it failed for longer than WEBHOOK_RETRY_FOR, or by the owner.';
COMMENT ON COLUMN webhook_endpoints.failing_since IS 'First failed delivery since the last success; NULL when the last delivery succeeded.';
COMMENT ON COLUMN webhook_endpoints.disabled_at IS 'When the server disabled the endpoint; NULL while enabled.';
COMMENT ON COLUMN webhook_endpoints.disabled_reason IS 'Why it was disabled (the last error), for the owner.';

CREATE TABLE webhook_outbox (
    organization_id text        NOT NULL,
    message_id      text        NOT NULL,
    endpoint_id     text        NOT NULL,
    event_type      text        NOT NULL,
    job_id          text,
    payload         text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    last_status     integer,
    last_latency_ms integer,
    last_error      text,
    CONSTRAINT webhook_outbox_pkey PRIMARY KEY (organization_id, message_id),
    CONSTRAINT webhook_outbox_endpoint_fkey FOREIGN KEY (organization_id, endpoint_id)
        REFERENCES webhook_endpoints (organization_id, endpoint_id) ON DELETE CASCADE,
    CONSTRAINT webhook_outbox_state_valid CHECK (state IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_outbox_event_type_length CHECK (char_length(event_type) BETWEEN 1 AND 100),
    CONSTRAINT webhook_outbox_last_error_length CHECK (last_error IS NULL OR char_length(last_error) <= 2000)
);

CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_history_idx ON webhook_outbox (organization_id, endpoint_id, created_at DESC, message_id DESC);
CREATE INDEX webhook_outbox_finished_idx ON webhook_outbox (created_at) WHERE state <> 'pending';

COMMENT ON TABLE webhook_outbox IS
    'Job events waiting for, or done with, delivery to a webhook endpoint: one row per (event, endpoint), inserted in the same transaction as the job change, delivered at least once by any instance (webhook_claim). Also the delivery history. Tenant table (RLS on organization_id).';
COMMENT ON COLUMN webhook_outbox.message_id IS 'The webhook-id header (msg_...): the same on every retry, so receivers can drop duplicates.';
COMMENT ON COLUMN webhook_outbox.endpoint_id IS 'The endpoint it goes to.';
COMMENT ON COLUMN webhook_outbox.event_type IS 'job.completed, job.failed, job.cancelled, job.partial_success, job.completed_with_warnings or job.stalled.';
COMMENT ON COLUMN webhook_outbox.job_id IS 'The job the event is about (no foreign key: pruning a job keeps its history).';
COMMENT ON COLUMN webhook_outbox.payload IS 'The exact JSON body sent (and signed): {"type", "timestamp", "data": the job}.';
COMMENT ON COLUMN webhook_outbox.state IS 'pending (to send or retry), delivered (a 2xx answer), failed (gave up after WEBHOOK_RETRY_FOR).';
COMMENT ON COLUMN webhook_outbox.attempts IS 'Delivery attempts made (or started: a claim counts).';
COMMENT ON COLUMN webhook_outbox.next_attempt_at IS 'When it is due; while an instance delivers it, the end of that instance''s lease.';
COMMENT ON COLUMN webhook_outbox.last_status IS 'HTTP status of the last attempt; NULL when it got no answer (timeout, refused, blocked address).';
COMMENT ON COLUMN webhook_outbox.last_latency_ms IS 'Duration of the last attempt in milliseconds.';
COMMENT ON COLUMN webhook_outbox.last_error IS 'Why the last attempt failed; NULL after a success.';

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_outbox    ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_outbox    FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON webhook_endpoints TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());
CREATE POLICY tenant_isolation ON webhook_outbox TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());
COMMENT ON POLICY tenant_isolation ON webhook_endpoints IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';
COMMENT ON POLICY tenant_isolation ON webhook_outbox IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';

REVOKE ALL ON webhook_endpoints, webhook_outbox FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO jobs_api_app;
GRANT SELECT, INSERT, UPDATE         ON webhook_outbox    TO jobs_api_app;

-- ---------------------------------------------------------------------------
-- Delivery across organizations (SECURITY DEFINER, owned by jobs_api_maintenance)
-- ---------------------------------------------------------------------------
GRANT SELECT ON webhook_endpoints TO jobs_api_maintenance;
GRANT SELECT, UPDATE, DELETE ON webhook_outbox TO jobs_api_maintenance;

-- As in 0006: the current_user test keeps these to the functions' own execution (the migrating
-- owner is a member of jobs_api_maintenance).
CREATE POLICY maintenance_deliver ON webhook_endpoints FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance');
CREATE POLICY maintenance_deliver_select ON webhook_outbox FOR SELECT TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance');
CREATE POLICY maintenance_deliver_update ON webhook_outbox FOR UPDATE TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance' AND state = 'pending')
    WITH CHECK (current_user = 'jobs_api_maintenance');
CREATE POLICY maintenance_purge ON webhook_outbox FOR DELETE TO jobs_api_maintenance
    USING (current_user = 'jobs_api_maintenance' AND state <> 'pending');
COMMENT ON POLICY maintenance_deliver ON webhook_endpoints IS 'jobs_api_maintenance (webhook_claim) reads the endpoints of every organization.';
COMMENT ON POLICY maintenance_deliver_select ON webhook_outbox IS 'jobs_api_maintenance (webhook_claim, webhook_purge_history) reads the outbox of every organization.';
COMMENT ON POLICY maintenance_deliver_update ON webhook_outbox IS 'jobs_api_maintenance leases pending rows only.';
COMMENT ON POLICY maintenance_purge ON webhook_outbox IS 'jobs_api_maintenance deletes finished (delivered or failed) rows only.';

CREATE FUNCTION webhook_claim(p_limit integer, p_lease interval)
RETURNS TABLE (organization_id text, message_id text, endpoint_id text, event_type text, payload text,
               attempts integer, created_at timestamptz, url text, secrets text)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_temp
-- A background caller: never wait long behind a DBA's lock (it would hold up shutdown).
SET lock_timeout = '1s'
AS $$
    WITH due AS (
        SELECT o.organization_id, o.message_id
        FROM webhook_outbox AS o
        JOIN webhook_endpoints AS e ON e.organization_id = o.organization_id AND e.endpoint_id = o.endpoint_id
        WHERE o.state = 'pending' AND o.next_attempt_at <= now() AND e.enabled
        ORDER BY o.next_attempt_at
        LIMIT greatest(p_limit, 0)
        FOR UPDATE OF o SKIP LOCKED
    ), claimed AS (
        UPDATE webhook_outbox AS o
        SET next_attempt_at = now() + p_lease, attempts = o.attempts + 1, last_attempt_at = now()
        FROM due
        WHERE o.organization_id = due.organization_id AND o.message_id = due.message_id
        RETURNING o.organization_id, o.message_id, o.endpoint_id, o.event_type, o.payload, o.attempts, o.created_at
    )
    SELECT c.organization_id, c.message_id, c.endpoint_id, c.event_type, c.payload, c.attempts, c.created_at, e.url,
           CASE WHEN e.previous_secret IS NOT NULL AND e.previous_secret_expires_at > now()
                THEN e.secret || ' ' || e.previous_secret ELSE e.secret END
    FROM claimed AS c
    JOIN webhook_endpoints AS e ON e.organization_id = c.organization_id AND e.endpoint_id = c.endpoint_id
$$;
COMMENT ON FUNCTION webhook_claim(integer, interval) IS
    'Leases up to p_limit due webhook deliveries of every organization (pending, next_attempt_at <= now(), endpoint enabled), oldest first, with FOR UPDATE SKIP LOCKED, so concurrent instances never take the same row: attempts + 1 and next_attempt_at = now() + p_lease (past the request timeout: if the instance dies, the row is due again then). Returns what a delivery needs: the body, the URL and the signing secrets. SECURITY DEFINER (owner jobs_api_maintenance); EXECUTE for jobs_api_app.';

CREATE FUNCTION webhook_purge_history(p_older_than interval, p_limit integer DEFAULT 10000)
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_temp
-- A background caller: never wait long behind a DBA's lock (it would hold up shutdown).
SET lock_timeout = '1s'
AS $$
    WITH doomed AS (
        SELECT o.organization_id, o.message_id FROM webhook_outbox AS o
        WHERE o.state <> 'pending' AND o.created_at < now() - p_older_than
        ORDER BY o.created_at
        LIMIT greatest(p_limit, 0)
    ), deleted AS (
        DELETE FROM webhook_outbox AS o USING doomed AS d
        WHERE o.organization_id = d.organization_id AND o.message_id = d.message_id
        RETURNING 1
    )
    SELECT count(*) FROM deleted
$$;
COMMENT ON FUNCTION webhook_purge_history(interval, integer) IS
    'Deletes up to p_limit finished (delivered or failed) webhook deliveries of every organization created before now() - p_older_than; returns how many. SECURITY DEFINER (owner jobs_api_maintenance); EXECUTE for jobs_api_app (the server calls it on its delivery loop).';

DO $$
DECLARE
    need_create boolean := NOT has_schema_privilege('jobs_api_maintenance', 'public', 'CREATE');
BEGIN
    IF need_create THEN
        GRANT CREATE ON SCHEMA public TO jobs_api_maintenance;
    END IF;
    ALTER FUNCTION webhook_claim(integer, interval) OWNER TO jobs_api_maintenance;
    ALTER FUNCTION webhook_purge_history(interval, integer) OWNER TO jobs_api_maintenance;
    IF need_create THEN
        REVOKE CREATE ON SCHEMA public FROM jobs_api_maintenance;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION webhook_claim(integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION webhook_purge_history(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_claim(integer, interval) TO jobs_api_app;
GRANT EXECUTE ON FUNCTION webhook_purge_history(interval, integer) TO jobs_api_app;

-- ---------------------------------------------------------------------------
-- DBA view
-- ---------------------------------------------------------------------------
CREATE VIEW dba_webhook_deliveries AS
SELECT o.organization_id, o.endpoint_id, e.url, e.enabled AS endpoint_enabled, o.message_id, o.event_type,
       o.job_id, o.state, o.attempts, o.last_status, o.last_latency_ms, o.last_error, o.created_at,
       o.last_attempt_at, o.delivered_at, o.next_attempt_at
FROM webhook_outbox AS o
JOIN webhook_endpoints AS e ON e.organization_id = o.organization_id AND e.endpoint_id = o.endpoint_id;

COMMENT ON VIEW dba_webhook_deliveries IS
    'Webhook delivery history, newest first with ORDER BY created_at DESC: per event and endpoint its state (pending, delivered, failed), attempts, last HTTP status, latency and error. WHERE state = ''pending'' AND attempts > 1 shows what is being retried.';

COMMENT ON COLUMN dba_webhook_deliveries.organization_id IS 'Organization (tenant key).';
COMMENT ON COLUMN dba_webhook_deliveries.endpoint_id IS 'The endpoint.';
COMMENT ON COLUMN dba_webhook_deliveries.url IS 'The endpoint''s URL.';
COMMENT ON COLUMN dba_webhook_deliveries.endpoint_enabled IS 'Whether the endpoint is enabled (false: disabled after failing, or by its owner).';
COMMENT ON COLUMN dba_webhook_deliveries.message_id IS 'The webhook-id header (the same on every retry).';
COMMENT ON COLUMN dba_webhook_deliveries.event_type IS 'job.completed, job.failed, ...';
COMMENT ON COLUMN dba_webhook_deliveries.job_id IS 'The job the event is about.';
COMMENT ON COLUMN dba_webhook_deliveries.state IS 'pending, delivered or failed.';
COMMENT ON COLUMN dba_webhook_deliveries.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN dba_webhook_deliveries.last_status IS 'HTTP status of the last attempt (NULL: no answer).';
COMMENT ON COLUMN dba_webhook_deliveries.last_latency_ms IS 'Duration of the last attempt (ms).';
COMMENT ON COLUMN dba_webhook_deliveries.last_error IS 'Why the last attempt failed.';
COMMENT ON COLUMN dba_webhook_deliveries.created_at IS 'When the event happened.';
COMMENT ON COLUMN dba_webhook_deliveries.last_attempt_at IS 'When the last attempt started.';
COMMENT ON COLUMN dba_webhook_deliveries.delivered_at IS 'When it was delivered.';
COMMENT ON COLUMN dba_webhook_deliveries.next_attempt_at IS 'When it is due (pending rows).';

DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
        ALTER VIEW dba_webhook_deliveries SET (security_invoker = true);
        GRANT SELECT ON dba_webhook_deliveries TO jobs_api_analyst;
    END IF;
END
$$;
GRANT SELECT (organization_id, endpoint_id, url, events, enabled, failing_since, disabled_at, disabled_reason,
    created_at, updated_at) ON webhook_endpoints TO jobs_api_analyst;
GRANT SELECT ON webhook_outbox TO jobs_api_analyst;
CREATE POLICY analyst_all_orgs ON webhook_endpoints FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
CREATE POLICY analyst_all_orgs ON webhook_outbox    FOR SELECT TO jobs_api_analyst_all_orgs USING (true);
COMMENT ON POLICY analyst_all_orgs ON webhook_endpoints IS 'jobs_api_analyst_all_orgs (and its members) read every organization''s endpoints (never the secrets: no column privilege); SELECT only.';
COMMENT ON POLICY analyst_all_orgs ON webhook_outbox    IS 'jobs_api_analyst_all_orgs (and its members) read every organization''s deliveries; SELECT only.';
COMMENT ON COLUMN webhook_endpoints.created_at IS 'When the endpoint was added.';
COMMENT ON COLUMN webhook_endpoints.updated_at IS 'Last change of the endpoint (secret rotation, enable/disable).';
COMMENT ON COLUMN webhook_outbox.organization_id IS 'Organization whose job the event is about (tenant key).';
COMMENT ON COLUMN webhook_outbox.created_at IS 'When the event happened (the job change committed with this row).';
COMMENT ON COLUMN webhook_outbox.last_attempt_at IS 'When the last attempt started.';
COMMENT ON COLUMN webhook_outbox.delivered_at IS 'When a 2xx answer arrived; NULL until then.';
