-- scripts/bench.d/progress.sql — pgbench replay of what `jobs-api serve` issues for one
-- POST /api/jobs/{id}/progress {"processed_items_delta": 1, "stage": "..."} (scenarios a and c):
-- JobWriter.runBatch for a batch of one request, in the same two pipelines (two round trips,
-- the row lock held between them). SQL text copied from JobWriter.swift, JobRepository.selectJob
-- (lock: true), JobRepository.recentEventsQuery and JobRepository.writeQuery.
--   pipeline 1: BEGIN; set_config; SELECT ... FOR UPDATE; recent events (window from the row)
--   pipeline 2: UPDATE jobs ...; COMMIT
-- Run by scripts/bench with PGOPTIONS='-c role=jobs_api_app' (RLS applies, as for the server) as
--   pgbench -n -M prepared -f progress.sql -D org=ORG -D lo=ID -D hi=ID -D ctr=0 -D status=in_progress
--     -D total=1000000 -D zero=0 -D meta=JSON -D now=now
-- pgbench cannot read results inside a pipeline (no \gset), so the UPDATE binds values it knows
-- without reading the row — cost-neutral, as only unindexed columns change (HOT updates either way):
--   * processed_items is a per-client counter (the server binds the row's value + 1);
--   * the other counters are the provisioned zeros, status/total_items the provisioned values,
--     metadata the constant :meta (the server binds the merged object, the same size);
--   * updated_at and started_at get the string 'now' (read by PostgreSQL as the transaction's
--     start time; the server binds its clock);
--   * error_message, ended_by and completed_at, which the server binds as NULL, are literal NULL
--     (pgbench cannot bind a NULL parameter).
-- Job ids are numbers (see status.sql). With many requests for one job (c), the server coalesces
-- them into one such transaction; pgbench runs one transaction per request.
\set id random(:lo, :hi)
\set ctr :ctr + 1
\startpipeline
BEGIN;
SELECT set_config('app.organization_id', :org, true);
SELECT organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
    error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
    triggered_by, ended_by, created_at, started_at, completed_at, updated_at,
    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us FROM jobs
WHERE organization_id = :org AND job_id = :id FOR UPDATE;
(SELECT kind, seq, entity_key, entity_type, error_type, message, details, step, created_at FROM job_events
 WHERE organization_id = :org AND job_id = :id AND kind = 'error'
   AND seq > (SELECT stored_error_count - 100 FROM jobs WHERE organization_id = :org AND job_id = :id)
 ORDER BY seq)
UNION ALL
(SELECT kind, seq, entity_key, entity_type, error_type, message, details, step, created_at FROM job_events
 WHERE organization_id = :org AND job_id = :id AND kind = 'warning'
   AND seq > (SELECT stored_warning_count - 100 FROM jobs WHERE organization_id = :org AND job_id = :id)
 ORDER BY seq);
\endpipeline
\startpipeline
    UPDATE jobs SET status = :status, total_items = :total,
        processed_items = :ctr, failed_items = :zero,
        warned_items = :zero, error_count = :zero, warning_count = :zero,
        stored_error_count = :zero, stored_warning_count = :zero,
        metadata = :meta,
        error_message = NULL, ended_by = NULL,
        started_at = COALESCE(started_at, :now), completed_at = COALESCE(completed_at, NULL),
        updated_at = :now
WHERE organization_id = :org AND job_id = :id;
COMMIT;
\endpipeline
