-- scripts/bench.d/error.sql — pgbench replay of what `jobs-api serve` issues for one
-- POST /api/jobs/{id}/progress {"error": {"entity_key": "row-N", "entity_type": "row", ...}}
-- (scenarios b and g): JobWriter.runCached for a batch of one request on a cached job (the
-- server keeps the job's row and its recent-events window in JobCache, so it reads nothing):
-- one pipeline, one round trip, one implicit transaction: set_config, then the compare-and-set
-- UPDATE with the event INSERT in the same statement (JobRepository.compareAndWriteQuery). pgbench cannot know the row's xmin, so the compare is
-- `xmin = xmin` (always true, same cost).
-- Run by scripts/bench with PGOPTIONS='-c role=jobs_api_app' (RLS applies, as for the server) as
--   pgbench -n -M prepared -f error.sql -D org=ORG -D lo=ID -D hi=ID -D status=in_progress
--     -D total=1000000 -D zero=0 -D meta=JSON -D now=now -D kinds='{error}' ... (array literals)
-- pgbench cannot read results inside a pipeline (no \gset), and an append must number its event
-- from the row (seq = stored_error_count + 1; the row's counters + 1). So, unlike the server,
-- the UPDATE sets failed_items, error_count and stored_error_count to `column + 1` instead of
-- bound values, and the INSERT takes its seq from the UPDATE's RETURNING (the server binds the
-- seq it computed). Seqs stay dense and counters consistent. Other values:
--   * the columns the request does not change: the provisioned values (processed_items 0,
--     metadata the constant :meta, status, total_items), the zero warning counters;
--   * updated_at/started_at/last_reported_at/rate_sampled_at: the string 'now' (read by PostgreSQL as the transaction's start
--     time; the server binds its clock); literal NULL where the server binds NULL (pgbench
--     cannot bind a NULL parameter);
--   * the event arrays: one-element array literals bound as parameters, as the server binds
--     them (entity_key constant: not indexed).
-- Job ids are numbers (see status.sql).
\set id random(:lo, :hi)
\startpipeline
SELECT set_config('app.organization_id', :org, true);
WITH updated AS (
    UPDATE jobs SET status = :status, total_items = :total,
        processed_items = :zero, failed_items = failed_items + 1,
        warned_items = :zero, error_count = error_count + 1, warning_count = :zero,
        stored_error_count = stored_error_count + 1, stored_warning_count = :zero,
        metadata = :meta,
        error_message = NULL, ended_by = NULL,
        started_at = COALESCE(started_at, :now), completed_at = COALESCE(completed_at, NULL),
        updated_at = :now, last_reported_at = :now,
        rate_sampled_at = :now, rate_sampled_done = :zero, items_per_second = :zero
WHERE organization_id = :org AND job_id = :id AND xmin = xmin RETURNING xmin::text AS version, stored_error_count),
appended AS (
    INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, entity_type, error_type, message,
                            details, step, created_at)
    SELECT :org, :id, e.kind, e.seq, e.entity_key, e.entity_type, e.error_type,
           e.message, e.details, e.step, e.created_at
    FROM unnest(:kinds::text[],
                ARRAY[(SELECT stored_error_count FROM updated)]::int8[],
                :entity_keys::text[],
                :entity_types::text[],
                :error_types::text[],
                :messages::text[],
                :details::jsonb[],
                :steps::text[],
                :created::timestamptz[])
         AS e(kind, seq, entity_key, entity_type, error_type, message, details, step, created_at)
    WHERE EXISTS (SELECT 1 FROM updated))
SELECT version FROM updated;
\endpipeline
