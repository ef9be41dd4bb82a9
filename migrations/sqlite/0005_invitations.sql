-- Invitations to an organization. Adding someone to an org no longer makes them a member:
-- it invites their email, and the person signed in with that email accepts or declines.
-- Until then they see nothing of the org. A row exists only while the invitation is
-- pending (accepting or declining deletes it; the audit log keeps what happened), and one
-- email has at most one pending invitation per org (inviting again renews it).
CREATE TABLE org_invitations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX org_invitations_org_email_idx ON org_invitations (org_id, email);
CREATE INDEX org_invitations_email_idx ON org_invitations (email);
