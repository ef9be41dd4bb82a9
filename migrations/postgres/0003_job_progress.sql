-- Live progress of a job: where the worker has read the executor's log up to (a restart-
-- safe offset and the step it is in), the latest iteration, and one residual/force sample
-- per solver iteration (thinned out for long runs). usage_until: core-seconds have been
-- recorded in usage_records up to this time.
ALTER TABLE simulation_jobs ADD COLUMN log_offset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE simulation_jobs ADD COLUMN log_step TEXT;
ALTER TABLE simulation_jobs ADD COLUMN iteration BIGINT NOT NULL DEFAULT 0;
ALTER TABLE simulation_jobs ADD COLUMN latest TEXT;
ALTER TABLE simulation_jobs ADD COLUMN usage_until BIGINT;

CREATE TABLE job_samples (
    job_id TEXT NOT NULL REFERENCES simulation_jobs(id) ON DELETE CASCADE,
    iteration BIGINT NOT NULL,
    -- {"iteration", "residuals": {field: initial residual}, "forces": {"Cd", ...}}
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, iteration)
);
CREATE INDEX usage_job_idx ON usage_records (job_id);
