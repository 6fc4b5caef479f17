-- scripts/bench.d/min-error.sql — the minimal SQL of scenario (b), the physical limit the server
-- is compared with: the change one POST /api/jobs/{id}/progress {"error": {...}} makes, as one
-- statement (one round trip, one implicit transaction): a data-modifying CTE bumps the job's
-- error_count, failed_items and stored_error_count by 1 (and sets updated_at), and the error
-- event is inserted with seq = the stored_error_count it returns (the same values as error.sql).
-- Run by scripts/bench as the superuser (no role switch, no set_config: row-level security does
-- not apply to a superuser) as
--   pgbench -n -M prepared -j 2 -f min-error.sql -D org=ORG -D lo=ID -D hi=ID
-- Job ids are numbers (see status.sql).
\set id random(:lo, :hi)
WITH j AS (
    UPDATE jobs SET error_count = error_count + 1, failed_items = failed_items + 1,
                    stored_error_count = stored_error_count + 1, updated_at = now()
    WHERE organization_id = :org AND job_id = :id
    RETURNING organization_id, job_id, stored_error_count
)
INSERT INTO job_events (organization_id, job_id, kind, seq, entity_key, entity_type, error_type, message,
                        details, step, created_at)
SELECT j.organization_id, j.job_id, 'error', j.stored_error_count, 'row-bench', 'row', 'validation',
       'price missing', '{"field": "price"}', NULL, now()
FROM j;
