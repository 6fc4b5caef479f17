-- scripts/bench.d/min-status.sql — the minimal SQL of scenario (d), the physical limit the server
-- is compared with: GET /api/jobs/{id}/status reads one job row, here the single-row SELECT
-- by primary key (one round trip, one implicit transaction).
-- Run by scripts/bench as the superuser (no role switch, no set_config: row-level security does
-- not apply to a superuser) as
--   pgbench -n -M prepared -j 2 -f min-status.sql -D org=ORG -D lo=ID -D hi=ID
-- Job ids are numbers (see status.sql).
\set id random(:lo, :hi)
SELECT * FROM jobs WHERE organization_id = :org AND job_id = :id;
