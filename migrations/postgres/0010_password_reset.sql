-- Password reset. Single-use account tokens, stored as SHA-256 hashes only (`purpose`
-- leaves room for email verification), and the mail outbox: what would be mailed, with its
-- link sealed by the server key and, in `detail`, what else its text needs (JSON). While no
-- [email] section is configured every message is held there for an administrator to pass
-- on (the admin page lists the live ones).
CREATE TABLE user_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'verify')),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose, created_at);

CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    link_sealed TEXT,
    detail TEXT,
    held BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (sent_at, next_at);

-- Access tokens issued before this time (ms) are refused: a password reset ends them too.
ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT;
