-- 0003_jobs.sql — jobs and their error/warning events.
--
-- What: the jobs table (one row per batch job, counters on the row) and job_events
-- (the errors and warnings reported on a job, append-only), both tenant tables with
-- row-level security enabled and forced (policy tenant_isolation, as in 0002).
-- Why this shape (spec §2, §4, §7):
--   * A progress report locks one jobs row, updates its counters and appends at most
--     one error and one warning: appending the 100,000th event costs what the first
--     did, because events are rows, not a growing JSON array.
--   * job_events' primary key (organization_id, job_id, kind, seq) makes "the most
--     recent 100" (seq > stored_<kind>_count - 100) and cursor paging (seq > cursor)
--     bounded index range scans.
--   * Counters are bigint limited to 0 .. 2^53-1 (9007199254740991), the JSON-safe
--     integer range of the contract.
--   * The list endpoint is newest first with a keyset on (created_at, job_id) per
--     organization; jobs_list_idx and jobs_status_list_idx serve it without sorting.
-- updated_at has no trigger: the server sets it only when a request changes something.

-- ---------------------------------------------------------------------------
-- jobs
-- ---------------------------------------------------------------------------
CREATE TABLE jobs (
    organization_id      text        NOT NULL,
    job_id               text        NOT NULL,
    job_type             text        NOT NULL,
    status               text        NOT NULL DEFAULT 'pending',
    total_items          bigint      NOT NULL DEFAULT 0,
    processed_items      bigint      NOT NULL DEFAULT 0,
    failed_items         bigint      NOT NULL DEFAULT 0,
    warned_items         bigint      NOT NULL DEFAULT 0,
    error_count          bigint      NOT NULL DEFAULT 0,
    warning_count        bigint      NOT NULL DEFAULT 0,
    stored_error_count   bigint      NOT NULL DEFAULT 0,
    stored_warning_count bigint      NOT NULL DEFAULT 0,
    metadata             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error_message        text,
    triggered_by         text,
    ended_by             text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    completed_at         timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (organization_id, job_id),
    -- No cascade: deleting an organization that still has jobs fails; prune first.
    CONSTRAINT jobs_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (organization_id),
    CONSTRAINT jobs_job_id_length CHECK (char_length(job_id) BETWEEN 1 AND 64),
    CONSTRAINT jobs_job_type_length CHECK (char_length(job_type) BETWEEN 1 AND 100),
    CONSTRAINT jobs_status_valid CHECK (status IN ('pending', 'in_progress', 'completed',
        'completed_with_warnings', 'partial_success', 'failed', 'cancelled')),
    CONSTRAINT jobs_total_items_range          CHECK (total_items          BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_processed_items_range      CHECK (processed_items      BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_failed_items_range         CHECK (failed_items         BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_warned_items_range         CHECK (warned_items         BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_error_count_range          CHECK (error_count          BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_warning_count_range        CHECK (warning_count        BETWEEN 0 AND 9007199254740991),
    CONSTRAINT jobs_stored_error_count_range   CHECK (stored_error_count   BETWEEN 0 AND error_count),
    CONSTRAINT jobs_stored_warning_count_range CHECK (stored_warning_count BETWEEN 0 AND warning_count),
    CONSTRAINT jobs_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT jobs_error_message_length CHECK (error_message IS NULL OR char_length(error_message) <= 10000),
    CONSTRAINT jobs_triggered_by_length CHECK (triggered_by IS NULL OR char_length(triggered_by) BETWEEN 1 AND 1024),
    CONSTRAINT jobs_ended_by_valid CHECK (ended_by IN ('mark_completed', 'mark_failed', 'cancel')),
    -- Lifecycle consistency: a job is terminal exactly when it has ended_by and
    -- completed_at, and ended_by agrees with the status it produced.
    CONSTRAINT jobs_terminal_consistent CHECK (
        CASE WHEN status IN ('pending', 'in_progress')
             THEN ended_by IS NULL AND completed_at IS NULL
             ELSE ended_by IS NOT NULL AND completed_at IS NOT NULL
        END),
    CONSTRAINT jobs_ended_by_matches_status CHECK (
        ended_by IS NULL
        OR (ended_by = 'cancel' AND status = 'cancelled')
        OR (ended_by = 'mark_failed' AND status = 'failed')
        OR (ended_by = 'mark_completed' AND status IN ('completed', 'completed_with_warnings', 'partial_success', 'failed'))),
    CONSTRAINT jobs_in_progress_started CHECK (status <> 'in_progress' OR started_at IS NOT NULL)
);

CREATE INDEX jobs_list_idx ON jobs (organization_id, created_at DESC, job_id DESC);
CREATE INDEX jobs_status_list_idx ON jobs (organization_id, status, created_at DESC, job_id DESC);

COMMENT ON TABLE jobs IS
    'Long-running batch jobs (imports, enrichment runs, crawls, exports), one row each, with their progress counters. Tenant table (RLS on organization_id). Errors and warnings are rows of job_events.';
COMMENT ON COLUMN jobs.organization_id IS 'Organization that owns the job (tenant key).';
COMMENT ON COLUMN jobs.job_id IS 'Server-generated id, URL-safe, 1-64 characters, unguessable and roughly time-ordered (e.g. job_<UUIDv7>).';
COMMENT ON COLUMN jobs.job_type IS 'Kind of job chosen by the client (e.g. enrichment, import), 1-100 characters.';
COMMENT ON COLUMN jobs.status IS 'pending, in_progress, or one of the terminal statuses completed, completed_with_warnings, partial_success, failed, cancelled.';
COMMENT ON COLUMN jobs.total_items IS 'Number of items the job expects to process, as reported by the worker (0 .. 2^53-1).';
COMMENT ON COLUMN jobs.processed_items IS 'Items processed successfully, set or incremented by the worker (0 .. 2^53-1).';
COMMENT ON COLUMN jobs.failed_items IS 'Items that failed: +1 per appended error whose entity_type is not ''job''.';
COMMENT ON COLUMN jobs.warned_items IS 'Items that finished with warnings: +1 per appended warning whose entity_type is not ''job''.';
COMMENT ON COLUMN jobs.error_count IS 'Errors reported on the job in all, including those past the storage cap.';
COMMENT ON COLUMN jobs.warning_count IS 'Warnings reported on the job in all, including those past the storage cap.';
COMMENT ON COLUMN jobs.stored_error_count IS 'Errors actually stored in job_events (kind error, seq 1..this); stops rising at the per-job cap while error_count goes on.';
COMMENT ON COLUMN jobs.stored_warning_count IS 'Warnings actually stored in job_events (kind warning, seq 1..this); stops rising at the per-job cap while warning_count goes on.';
COMMENT ON COLUMN jobs.metadata IS 'Free-form JSON object from the client, changed by JSON Merge Patch; metadata.stage and metadata.last_message come from progress reports; errors_truncated / warnings_truncated are set past the cap. At most 256 KiB (checked by the server).';
COMMENT ON COLUMN jobs.error_message IS 'Why the job failed or was cancelled (mark_failed text, cancel reason or "cancelled", or "all <n> items failed"); NULL otherwise.';
COMMENT ON COLUMN jobs.triggered_by IS 'Who started the job: the session''s user id by default, a client-given string, or NULL (API keys).';
COMMENT ON COLUMN jobs.ended_by IS 'Which transition made the job terminal: mark_completed, mark_failed or cancel; NULL while pending/in_progress. A repeat of the same transition is answered 200 unchanged.';
COMMENT ON COLUMN jobs.created_at IS 'When the job was created; with job_id the keyset of the list endpoint (newest first).';
COMMENT ON COLUMN jobs.started_at IS 'When mark_started moved the job to in_progress; NULL if it never started (even once finished).';
COMMENT ON COLUMN jobs.completed_at IS 'When the job became terminal (completed, failed or cancelled); NULL while pending/in_progress.';
COMMENT ON COLUMN jobs.updated_at IS 'Last time a request changed the job; set by the server, no trigger.';
COMMENT ON INDEX jobs_list_idx IS 'List endpoint: newest first per organization, keyset on (created_at, job_id).';
COMMENT ON INDEX jobs_status_list_idx IS 'List endpoint filtered by status, and running/stuck job lookups per organization.';

-- ---------------------------------------------------------------------------
-- job_events (append-only)
-- ---------------------------------------------------------------------------
CREATE TABLE job_events (
    organization_id text        NOT NULL,
    job_id          text        NOT NULL,
    kind            text        NOT NULL,
    seq             bigint      NOT NULL,
    entity_key      text        NOT NULL,
    entity_type     text        NOT NULL DEFAULT 'job',
    error_type      text        NOT NULL,
    message         text        NOT NULL,
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    step            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_events_pkey PRIMARY KEY (organization_id, job_id, kind, seq),
    CONSTRAINT job_events_job_fkey FOREIGN KEY (organization_id, job_id)
        REFERENCES jobs (organization_id, job_id) ON DELETE CASCADE,
    CONSTRAINT job_events_kind_valid CHECK (kind IN ('error', 'warning')),
    CONSTRAINT job_events_seq_positive CHECK (seq >= 1),
    CONSTRAINT job_events_entity_key_length CHECK (char_length(entity_key) BETWEEN 1 AND 1024),
    CONSTRAINT job_events_entity_type_length CHECK (char_length(entity_type) BETWEEN 1 AND 1024),
    CONSTRAINT job_events_error_type_length CHECK (char_length(error_type) BETWEEN 1 AND 1024),
    CONSTRAINT job_events_message_length CHECK (char_length(message) <= 10000),
    CONSTRAINT job_events_details_object CHECK (jsonb_typeof(details) = 'object'),
    CONSTRAINT job_events_step_length CHECK (step IS NULL OR char_length(step) BETWEEN 1 AND 1024)
);

COMMENT ON TABLE job_events IS
    'Errors and warnings reported on jobs, append-only (UPDATE raises; rows go only when their job is deleted). Tenant table (RLS on organization_id). Past the per-job cap new events are counted on the job but not stored here.';
COMMENT ON COLUMN job_events.organization_id IS 'Organization that owns the job (tenant key).';
COMMENT ON COLUMN job_events.job_id IS 'The job the event belongs to.';
COMMENT ON COLUMN job_events.kind IS 'error or warning.';
COMMENT ON COLUMN job_events.seq IS '1-based position of the event among the job''s stored events of this kind (= the job''s stored_<kind>_count after the append). Most recent 100: seq > stored_count - 100. Also the paging cursor.';
COMMENT ON COLUMN job_events.entity_key IS 'What the event is about, in the client''s terms (e.g. SKU-1), 1-1024 characters.';
COMMENT ON COLUMN job_events.entity_type IS 'Type of that entity (e.g. product); ''job'' (default) means the job itself and does not count in failed_items/warned_items.';
COMMENT ON COLUMN job_events.error_type IS 'Category given by the client (e.g. validation), 1-1024 characters.';
COMMENT ON COLUMN job_events.message IS 'Human-readable description, up to 10,000 characters.';
COMMENT ON COLUMN job_events.details IS 'Structured details, a JSON object (default {}), at most 16 KiB (checked by the server).';
COMMENT ON COLUMN job_events.step IS 'Pipeline step where it happened (e.g. transform); NULL if not given.';
COMMENT ON COLUMN job_events.created_at IS 'Server timestamp of the append (the event''s "timestamp" in the API).';

CREATE FUNCTION job_events_forbid_update() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'job_events is append-only: UPDATE is not allowed'
        USING ERRCODE = 'restrict_violation',
              HINT = 'Append a new event instead; events go away only with their job.';
END
$$;

COMMENT ON FUNCTION job_events_forbid_update() IS 'Trigger function: rejects every UPDATE of job_events (SQLSTATE 23001 restrict_violation).';

CREATE TRIGGER job_events_append_only
    BEFORE UPDATE ON job_events
    FOR EACH ROW EXECUTE FUNCTION job_events_forbid_update();

COMMENT ON TRIGGER job_events_append_only ON job_events IS 'Keeps job_events append-only: any UPDATE raises.';

-- ---------------------------------------------------------------------------
-- Row-level security and privileges
-- ---------------------------------------------------------------------------
ALTER TABLE jobs       ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs       FORCE ROW LEVEL SECURITY;
ALTER TABLE job_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_events FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON jobs TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());
CREATE POLICY tenant_isolation ON job_events TO PUBLIC
    USING (organization_id = app_current_organization())
    WITH CHECK (organization_id = app_current_organization());

COMMENT ON POLICY tenant_isolation ON jobs IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';
COMMENT ON POLICY tenant_isolation ON job_events IS 'Rows visible/writable only for app_current_organization(); nothing without an organization set.';

-- The API never deletes jobs or events (prune runs as the owner) and never updates events.
REVOKE ALL ON jobs, job_events FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON jobs       TO jobs_api_app;
GRANT SELECT, INSERT         ON job_events TO jobs_api_app;
