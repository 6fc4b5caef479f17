-- scripts/bench.d/status.sql — pgbench replay of what `jobs-api serve` issues for
-- GET /api/jobs/{id}/status (scenario d): one pipeline (one sync, so one implicit transaction,
-- no BEGIN/COMMIT) of the tenant setting and the job row (Database.read + JobRepository.jobRow;
-- SQL text copied from Database.swift and JobRepository.selectJob, lock: false).
-- Run by scripts/bench as: PGOPTIONS='-c role=jobs_api_app' pgbench -n -M prepared -f status.sql
--   -D org=ORG -D lo=ID -D hi=ID
-- Job ids are numbers (scripts/bench provisions them so; ids are opaque text to the server), so
-- a random id in [lo, hi] is bound as the job_id parameter directly, with no lookup.
\set id random(:lo, :hi)
\startpipeline
SELECT set_config('app.organization_id', :org, true);
SELECT organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
    error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
    triggered_by, ended_by, created_at, started_at, completed_at, updated_at, last_reported_at,
    stall_after_seconds, rate_sampled_at, rate_sampled_done, items_per_second, stalled_notified_at,
    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us FROM jobs
WHERE organization_id = :org AND job_id = :id ;
\endpipeline
