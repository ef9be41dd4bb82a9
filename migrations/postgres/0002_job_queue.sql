-- The durable job queue: a job row carries its state, the worker holding its lease and
-- the executor's handle; every state change is kept with its reason.
ALTER TABLE simulation_jobs ADD COLUMN step TEXT;
ALTER TABLE simulation_jobs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE simulation_jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE simulation_jobs ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_claim_idx ON simulation_jobs (status, priority, created_at);

CREATE TABLE job_transitions (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES simulation_jobs(id) ON DELETE CASCADE,
    -- Position in the job's history (times can tie within a millisecond).
    seq BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    worker TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX job_transitions_job_idx ON job_transitions (job_id, seq);
