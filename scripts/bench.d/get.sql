-- scripts/bench.d/get.sql — pgbench replay of what `jobs-api serve` issues for
-- GET /api/jobs/{id} (scenario h): one pipeline (one sync, one implicit transaction) of the
-- tenant setting, the job row and its most recent 100 errors and warnings, whose window the
-- statement finds from the job row itself (Database.read + JobRepository.job; SQL text copied
-- from Database.swift, JobRepository.selectJob and JobRepository.recentEventsQuery).
-- Run by scripts/bench as: PGOPTIONS='-c role=jobs_api_app' pgbench -n -M prepared -f get.sql
--   -D org=ORG -D lo=ID -D hi=ID   (numeric job ids, see status.sql)
\set id random(:lo, :hi)
\startpipeline
SELECT set_config('app.organization_id', :org, true);
SELECT organization_id, job_id, job_type, status, total_items, processed_items, failed_items, warned_items,
    error_count, warning_count, stored_error_count, stored_warning_count, metadata, error_message,
    triggered_by, ended_by, created_at, started_at, completed_at, updated_at, last_reported_at,
    stall_after_seconds, rate_sampled_at, rate_sampled_done, items_per_second, stalled_notified_at,
    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us FROM jobs
WHERE organization_id = :org AND job_id = :id ;
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
