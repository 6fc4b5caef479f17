-- scripts/bench.d/list-first.sql — pgbench replay of what `jobs-api serve` issues for
-- GET /api/jobs/?limit=50 (scenario f, first page): one pipeline (one sync, one implicit
-- transaction) of the tenant setting and the page, newest first, limit + 1 rows
-- (Database.read + JobRepository.list; SQL text as the server assembles it).
-- Run by scripts/bench as: PGOPTIONS='-c role=jobs_api_app' pgbench -n -M prepared -f list-first.sql -D org=ORG
-- The limit (page size + 1) is a bound parameter, as in the server.
\set lim 51
\startpipeline
SELECT set_config('app.organization_id', :org, true);
SELECT organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
    error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
    triggered_by, ended_by, created_at, started_at, completed_at, updated_at, last_reported_at,
    stall_after_seconds, rate_sampled_at, rate_sampled_done, items_per_second, stalled_notified_at,
    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us FROM jobs WHERE organization_id = :org ORDER BY created_at DESC, job_id DESC LIMIT :lim;
\endpipeline
