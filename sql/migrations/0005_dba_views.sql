-- 0005_dba_views.sql — read-only views for the questions DBAs ask most (spec §7).
--
-- What: dba_running_jobs (unfinished jobs per organization, with how stale they
-- are) and dba_failure_hot_spots (where errors of the last 7 days concentrate).
-- Why: so "what is running, what is stuck, what keeps failing" is one SELECT in psql.
-- The views run with their owner's rights and the tables' RLS is forced, so a
-- superuser sees every organization, while a non-superuser owner sees only the
-- organization set with set_config('app.organization_id', ..., false).
-- jobs_api_app gets no privilege on them; they scan whole tables (DBA use only).

CREATE VIEW dba_running_jobs AS
SELECT j.organization_id,
       count(*) FILTER (WHERE j.status = 'pending')     AS pending_jobs,
       count(*) FILTER (WHERE j.status = 'in_progress') AS in_progress_jobs,
       min(j.created_at)                                AS oldest_created_at,
       min(j.started_at)                                AS oldest_started_at,
       min(j.updated_at)                                AS stalest_updated_at,
       now() - min(j.updated_at)                        AS longest_silence
FROM jobs AS j
WHERE j.status IN ('pending', 'in_progress')
GROUP BY j.organization_id;

COMMENT ON VIEW dba_running_jobs IS
    'Unfinished jobs (pending, in_progress) per organization, with the longest time since a job was last updated: a large longest_silence hints at a stuck worker. Find the jobs themselves with jobs_status_list_idx: WHERE organization_id = ... AND status = ''in_progress'' ORDER BY updated_at.';
COMMENT ON COLUMN dba_running_jobs.organization_id IS 'Organization.';
COMMENT ON COLUMN dba_running_jobs.pending_jobs IS 'Jobs created but not started.';
COMMENT ON COLUMN dba_running_jobs.in_progress_jobs IS 'Jobs started and not finished.';
COMMENT ON COLUMN dba_running_jobs.oldest_created_at IS 'Creation time of the oldest unfinished job.';
COMMENT ON COLUMN dba_running_jobs.oldest_started_at IS 'Start time of the longest-running in_progress job.';
COMMENT ON COLUMN dba_running_jobs.stalest_updated_at IS 'Oldest updated_at among unfinished jobs (the one silent for longest).';
COMMENT ON COLUMN dba_running_jobs.longest_silence IS 'now() - stalest_updated_at.';

CREATE VIEW dba_failure_hot_spots AS
SELECT e.organization_id,
       j.job_type,
       e.error_type,
       e.step,
       e.entity_type,
       count(*)                 AS error_events,
       count(DISTINCT e.job_id) AS jobs_affected,
       min(e.created_at)        AS first_seen,
       max(e.created_at)        AS last_seen
FROM job_events AS e
JOIN jobs AS j ON j.organization_id = e.organization_id AND j.job_id = e.job_id
WHERE e.kind = 'error'
  AND e.created_at > now() - interval '7 days'
GROUP BY e.organization_id, j.job_type, e.error_type, e.step, e.entity_type;

COMMENT ON VIEW dba_failure_hot_spots IS
    'Stored errors of the last 7 days grouped by organization, job type, error type, step and entity type; ORDER BY error_events DESC for the hot spots. Errors past the per-job storage cap are not stored and not counted here (see jobs.error_count).';
COMMENT ON COLUMN dba_failure_hot_spots.organization_id IS 'Organization.';
COMMENT ON COLUMN dba_failure_hot_spots.job_type IS 'Job type of the failing jobs.';
COMMENT ON COLUMN dba_failure_hot_spots.error_type IS 'Error category given by the worker.';
COMMENT ON COLUMN dba_failure_hot_spots.step IS 'Pipeline step given by the worker (NULL if none).';
COMMENT ON COLUMN dba_failure_hot_spots.entity_type IS 'Entity type of the errors (''job'' = about the job itself).';
COMMENT ON COLUMN dba_failure_hot_spots.error_events IS 'Stored error events in the group.';
COMMENT ON COLUMN dba_failure_hot_spots.jobs_affected IS 'Distinct jobs with at least one such error.';
COMMENT ON COLUMN dba_failure_hot_spots.first_seen IS 'Oldest such error in the window.';
COMMENT ON COLUMN dba_failure_hot_spots.last_seen IS 'Newest such error.';

REVOKE ALL ON dba_running_jobs, dba_failure_hot_spots FROM PUBLIC;
