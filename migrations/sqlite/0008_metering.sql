-- Metering. Each usage record says whom it bills and where it came from: the project, the
-- executor, the billing subject ("org:ID" when the job's project belongs to an org, else
-- "user:ID"), the period (the UTC month of the record's end, "YYYY-MM"), the step it
-- counts ('preparing', 'meshing', 'solving' while the job runs; 'final' for the correction
-- to the executor's own wall time at the end), the plan in force (NULL until billing fills
-- it) and the source of the times ('worker', 'usage.json', 'sacct', 'sacct -c',
-- 'scontrol', 'pod').
ALTER TABLE usage_records ADD COLUMN project_id TEXT;
ALTER TABLE usage_records ADD COLUMN executor TEXT;
ALTER TABLE usage_records ADD COLUMN period TEXT;
ALTER TABLE usage_records ADD COLUMN step TEXT;
ALTER TABLE usage_records ADD COLUMN plan TEXT;
ALTER TABLE usage_records ADD COLUMN subject TEXT;
ALTER TABLE usage_records ADD COLUMN source TEXT;
-- Records made before this migration: their period and subject from what they hold.
UPDATE usage_records SET period = substr(period_end, 1, 7),
    subject = CASE WHEN org_id IS NOT NULL THEN 'org:' || org_id ELSE 'user:' || user_id END,
    source = 'worker';
UPDATE usage_records SET
    project_id = (SELECT c.project_id FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id
                  WHERE j.id = usage_records.job_id),
    executor = (SELECT j.executor FROM simulation_jobs j WHERE j.id = usage_records.job_id)
    WHERE job_id IS NOT NULL;
CREATE INDEX usage_subject_period_idx ON usage_records (subject, period);
CREATE INDEX usage_project_idx ON usage_records (project_id);

-- usage_final: when the job's final usage was recorded (the correction to the executor's
-- wall time, or the provisional total kept); set once, in the same transaction as that
-- record, so that a restarted or second worker cannot count the job again. mesh_cells and
-- iterations come from summary.json at the end: with core_seconds_used they calibrate
-- the estimate of new jobs.
ALTER TABLE simulation_jobs ADD COLUMN usage_final INTEGER;
ALTER TABLE simulation_jobs ADD COLUMN mesh_cells INTEGER;
ALTER TABLE simulation_jobs ADD COLUMN iterations INTEGER;
