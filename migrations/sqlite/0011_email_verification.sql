-- Email verification: when mail is configured, an account registered with a password must
-- open the link mailed to its address before it submits jobs or accepts invitations.
-- Accounts that exist already count as verified (since they were created).
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
UPDATE users SET email_verified_at = created_at;
