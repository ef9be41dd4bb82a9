-- Plans and billing. A billing subject is who pays: "user:ID" for personal projects,
-- "org:ID" for an organization's. No row: the configured default plan. The row holds what
-- an admin set (plan, a custom quota, a credit) and what Stripe said (customer,
-- subscription, its status), with the Stripe event time the state is from, so that an
-- older event never reverts a newer state.
CREATE TABLE billing_accounts (
    subject TEXT PRIMARY KEY,
    plan TEXT,
    quota_core_hours DOUBLE PRECISION,
    credit_core_hours DOUBLE PRECISION NOT NULL DEFAULT 0,
    stripe_customer_id TEXT,
    stripe_subscription_id TEXT,
    subscription_status TEXT,
    state_at BIGINT,
    past_due_since BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX billing_accounts_customer_idx ON billing_accounts (stripe_customer_id);

-- Stripe events already applied: a replayed event is a no-op.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Metered overage to report to Stripe, one row per report, sent with retries and
-- back-off; the idempotency key goes with the request and into its metadata.
CREATE TABLE billing_outbox (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    period TEXT NOT NULL,
    seq BIGINT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (subject, period, seq)
);
CREATE INDEX billing_outbox_unsent_idx ON billing_outbox (sent_at, next_at);

-- What a job was submitted under: its plan, who it bills, what it was expected to use
-- (live jobs reserve the rest of it against the quota) and the Slurm account its plan
-- charges.
ALTER TABLE simulation_jobs ADD COLUMN plan TEXT;
ALTER TABLE simulation_jobs ADD COLUMN billing_subject TEXT;
ALTER TABLE simulation_jobs ADD COLUMN estimate_core_seconds DOUBLE PRECISION;
ALTER TABLE simulation_jobs ADD COLUMN charge_account TEXT;
