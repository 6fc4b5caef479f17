-- scripts/bench.d/min-create.sql — the minimal SQL of scenario (e), the physical limit the server
-- is compared with: POST /api/jobs/ {"job_type": "bench", "total_items": 1000, "metadata":
-- {"source": "bench"}} inserts one job row, here one INSERT (one round trip, one implicit
-- transaction) with the same values; created_at/updated_at take their default now(),
-- triggered_by its default NULL (as for an API key).
-- Run by scripts/bench as the superuser (no role switch, no set_config: row-level security does
-- not apply to a superuser) as
--   pgbench -n -M prepared -j 2 -f min-create.sql -D org=ORG
-- The job id is a random number below 10^18, as in create.sql (the provisioned jobs' ids are
-- above; a collision is about as likely as one of two random 60-bit numbers).
\set id random(1, 999999999999999999)
INSERT INTO jobs (organization_id, job_id, job_type, status, total_items, metadata)
VALUES (:org, :id, 'bench', 'pending', 1000, '{"source": "bench"}');
