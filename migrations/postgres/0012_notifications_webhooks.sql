-- Issue 24: job notifications, outbound webhooks per project, and the role "member"
-- renamed "editor" (the API still accepts "member" as an alias).

-- Mail when a job the user submitted ends (on unless the user turns it off).
ALTER TABLE users ADD COLUMN notify_jobs BOOLEAN NOT NULL DEFAULT TRUE;
-- When the end of a job (or a geometry becoming ready) was turned into notifications:
-- the sweeper claims unnotified ones; what ended before this migration counts as done.
ALTER TABLE simulation_jobs ADD COLUMN notified_at BIGINT;
UPDATE simulation_jobs SET notified_at = COALESCE(completed_at, created_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
ALTER TABLE geometries ADD COLUMN notified_at BIGINT;
UPDATE geometries SET notified_at = created_at WHERE processing_status IN ('ready', 'failed');

-- A project's webhook: events POSTed to a URL, signed with a secret (sealed by the
-- server key, because signing needs it back).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    events TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_project_idx ON webhooks (project_id);

-- The outbox of webhook deliveries, and their log: one row an event and webhook.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    delivered_at BIGINT,
    failed_at BIGINT,
    response_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (delivered_at, failed_at, next_at);

-- Roles: owner, admin, editor, viewer.
ALTER TABLE org_members DROP CONSTRAINT org_members_role_check;
UPDATE org_members SET role = 'editor' WHERE role = 'member';
ALTER TABLE org_members ADD CONSTRAINT org_members_role_check CHECK (role IN ('owner', 'admin', 'editor', 'viewer'));
ALTER TABLE org_invitations DROP CONSTRAINT org_invitations_role_check;
UPDATE org_invitations SET role = 'editor' WHERE role = 'member';
ALTER TABLE org_invitations ADD CONSTRAINT org_invitations_role_check CHECK (role IN ('admin', 'editor', 'viewer'));
