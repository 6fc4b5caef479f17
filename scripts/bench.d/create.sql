-- scripts/bench.d/create.sql — pgbench replay of what `jobs-api serve` issues for
-- POST /api/jobs/ {"job_type": "bench", "total_items": 1000, "metadata": {"source": "bench"}}
-- without an Idempotency-Key (scenario e): one pipeline (one sync, one implicit transaction) of
-- the tenant setting and the INSERT (JobRepository.create(_:) via Database.read; SQL text copied
-- from Database.swift and JobRepository.insertJobQuery).
-- Run by scripts/bench as: PGOPTIONS='-c role=jobs_api_app' pgbench -n -M prepared -f create.sql
--   -D org=ORG -D job_type=bench -D status=pending -D total=1000 -D meta='{"source":"bench"}' -D now=now
-- Bound values: the job id is a random number below 10^18 (the provisioned jobs' ids are above);
-- created_at/updated_at get the string 'now' (PostgreSQL reads it as the transaction's start
-- time; the server binds its own clock); triggered_by, which the server binds as NULL for an
-- API key, is a literal NULL (pgbench cannot bind a NULL parameter).
\set id random(1, 999999999999999999)
\startpipeline
SELECT set_config('app.organization_id', :org, true);
INSERT INTO jobs (organization_id, job_id, job_type, status, total_items, metadata, triggered_by,
                  created_at, updated_at, stall_after_seconds)
VALUES (:org, :id, :job_type, :status, :total,
        :meta, NULL,
        :now, :now, NULL);
\endpipeline
