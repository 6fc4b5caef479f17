-- scripts/bench.d/list-deep.sql — pgbench replay of what `jobs-api serve` issues for
-- GET /api/jobs/?limit=50&cursor=... (scenario f, a page deep in the cursor chain): as
-- list-first.sql plus the keyset condition (created_at, job_id) < (cursor), the cursor's values
-- bound as the server binds them.
-- Run by scripts/bench as: PGOPTIONS='-c role=jobs_api_app' pgbench -n -M prepared -f list-deep.sql
--   -D org=ORG -D cursor_ts='2026-...Z' -D cursor_id=ID
-- The limit (page size + 1) is a bound parameter, as in the server.
\set lim 51
\startpipeline
SELECT set_config('app.organization_id', :org, true);
SELECT organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
    error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
    triggered_by, ended_by, created_at, started_at, completed_at, updated_at, last_reported_at,
    stall_after_seconds, rate_sampled_at, rate_sampled_done, items_per_second, stalled_notified_at,
    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us FROM jobs WHERE organization_id = :org AND (created_at, job_id) < (:cursor_ts::timestamptz, :cursor_id) ORDER BY created_at DESC, job_id DESC LIMIT :lim;
\endpipeline
