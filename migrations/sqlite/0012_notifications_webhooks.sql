-- Issue 24: job notifications, outbound webhooks per project, and the role "member"
-- renamed "editor" (the API still accepts "member" as an alias).

-- Mail when a job the user submitted ends (on unless the user turns it off).
ALTER TABLE users ADD COLUMN notify_jobs INTEGER NOT NULL DEFAULT 1;
-- When the end of a job (or a geometry becoming ready) was turned into notifications:
-- the sweeper claims unnotified ones; what ended before this migration counts as done.
ALTER TABLE simulation_jobs ADD COLUMN notified_at INTEGER;
UPDATE simulation_jobs SET notified_at = COALESCE(completed_at, created_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
ALTER TABLE geometries ADD COLUMN notified_at INTEGER;
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
    created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_project_idx ON webhooks (project_id);

-- The outbox of webhook deliveries, and their log: one row an event and webhook.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    delivered_at INTEGER,
    failed_at INTEGER,
    response_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (delivered_at, failed_at, next_at);

-- Roles: owner, admin, editor, viewer. SQLite cannot alter a CHECK, so the two tables with
-- one are rebuilt (nothing references them).
CREATE TABLE org_members_new (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at INTEGER NOT NULL,
    UNIQUE (org_id, user_id)
);
INSERT INTO org_members_new (id, org_id, user_id, role, joined_at)
    SELECT id, org_id, user_id, CASE role WHEN 'member' THEN 'editor' ELSE role END, joined_at FROM org_members;
DROP TABLE org_members;
ALTER TABLE org_members_new RENAME TO org_members;
CREATE INDEX org_members_user_idx ON org_members (user_id);

CREATE TABLE org_invitations_new (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO org_invitations_new (id, org_id, email, role, invited_by, created_at, expires_at)
    SELECT id, org_id, email, CASE role WHEN 'member' THEN 'editor' ELSE role END, invited_by, created_at, expires_at
    FROM org_invitations;
DROP TABLE org_invitations;
ALTER TABLE org_invitations_new RENAME TO org_invitations;
CREATE UNIQUE INDEX org_invitations_org_email_idx ON org_invitations (org_id, email);
CREATE INDEX org_invitations_email_idx ON org_invitations (email);
