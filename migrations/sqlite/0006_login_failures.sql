-- Failed sign-ins per account, for the per-account back-off. The account is the SHA-256 of
-- the normalised email (known or not), so that addresses typed by strangers are not kept.
CREATE TABLE login_failures (
    account TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
CREATE INDEX login_failures_last_idx ON login_failures (last_failure_at);
