-- scripts/bench.d/min-progress.sql — the minimal SQL of scenarios (a) and (c), the physical limit
-- the server is compared with: the change one POST /api/jobs/{id}/progress
-- {"processed_items_delta": 1, "stage": "..."} makes, as one statement (one round trip, one
-- implicit transaction): the counter + 1, the stage merged into metadata, updated_at, and the
-- job returned (as the server returns it).
-- Run by scripts/bench as the superuser (no role switch, no set_config: row-level security does
-- not apply to a superuser) as
--   pgbench -n -M prepared -j 2 -f min-progress.sql -D org=ORG -D lo=ID -D hi=ID -D stage=transforming
-- (a): a random job of the spread ones (lo..hi); (c): the one hot job (lo = hi).
-- Job ids are numbers (see status.sql).
\set id random(:lo, :hi)
UPDATE jobs SET processed_items = processed_items + 1,
                metadata = jsonb_set(metadata, '{stage}', to_jsonb(:stage::text)),
                updated_at = now()
WHERE organization_id = :org AND job_id = :id
RETURNING *;
