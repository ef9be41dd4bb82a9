-- Metering: each usage record says which project, executor, plan period (the UTC month
-- of its end, YYYY-MM), job step, plan and billing subject ("user:ID" or "org:ID") it
-- belongs to, so usage can be summed per subject and period and shown per project and
-- job. A job notes when its usage is final, and the size it asked for (for estimates).
ALTER TABLE usage_records ADD COLUMN project_id TEXT;
ALTER TABLE usage_records ADD COLUMN executor TEXT;
ALTER TABLE usage_records ADD COLUMN period TEXT;
ALTER TABLE usage_records ADD COLUMN step TEXT;
ALTER TABLE usage_records ADD COLUMN plan TEXT;
ALTER TABLE usage_records ADD COLUMN subject TEXT;
CREATE INDEX usage_subject_period_idx ON usage_records (subject, period);
CREATE INDEX usage_project_idx ON usage_records (project_id);

ALTER TABLE simulation_jobs ADD COLUMN usage_final INTEGER NOT NULL DEFAULT 0;
ALTER TABLE simulation_jobs ADD COLUMN mesh_cells INTEGER;
ALTER TABLE simulation_jobs ADD COLUMN iterations INTEGER;
