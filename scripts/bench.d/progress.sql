-- scripts/bench.d/progress.sql — pgbench replay of what `jobs-api serve` issues for one
-- POST /api/jobs/{id}/progress {"processed_items_delta": 1, "stage": "..."} (scenarios a and c):
-- JobWriter.runCached for a batch of one request on a cached job (the common path once a job
-- has been written or created by this server): one pipeline, one round trip, one implicit
-- transaction: set_config, then the compare-and-set UPDATE (JobRepository.compareAndWriteQuery;
-- a job of (a) has no events, so there is no recent-events read and no INSERT).
-- pgbench cannot know the row's xmin, so the compare is `xmin = xmin` (always true, same cost).
-- Run by scripts/bench with PGOPTIONS='-c role=jobs_api_app' (RLS applies, as for the server) as
--   pgbench -n -M prepared -f progress.sql -D org=ORG -D lo=ID -D hi=ID -D ctr=0 -D status=in_progress
--     -D total=1000000 -D zero=0 -D meta=JSON -D now=now
-- pgbench cannot read results inside a pipeline (no \gset), so the UPDATE binds values it knows
-- without reading the row — cost-neutral, as only unindexed columns change (HOT updates either way):
--   * processed_items is a per-client counter (the server binds the row's value + 1);
--   * the other counters are the provisioned zeros, status/total_items the provisioned values,
--     metadata the constant :meta (the server binds the merged object, the same size);
--   * updated_at, started_at, last_reported_at and rate_sampled_at get the string 'now' (read by PostgreSQL as the transaction's
--     start time; the server binds its clock);
--   * error_message, ended_by and completed_at, which the server binds as NULL, are literal NULL
--     (pgbench cannot bind a NULL parameter).
-- Job ids are numbers (see status.sql). With many requests for one job (c), the server coalesces
-- them into one such transaction; pgbench runs one transaction per request.
\set id random(:lo, :hi)
\set ctr :ctr + 1
\startpipeline
SELECT set_config('app.organization_id', :org, true);
WITH updated AS (
    UPDATE jobs SET status = :status, total_items = :total,
        processed_items = :ctr, failed_items = :zero,
        warned_items = :zero, error_count = :zero, warning_count = :zero,
        stored_error_count = :zero, stored_warning_count = :zero,
        metadata = :meta,
        error_message = NULL, ended_by = NULL,
        started_at = COALESCE(started_at, :now), completed_at = COALESCE(completed_at, NULL),
        updated_at = :now, last_reported_at = :now,
        rate_sampled_at = :now, rate_sampled_done = :zero, items_per_second = :zero
WHERE organization_id = :org AND job_id = :id AND xmin = xmin RETURNING xmin::text AS version) SELECT version FROM updated;
\endpipeline
