-- FlowCFD schema, PostgreSQL dialect. Identifiers are UUID text, times are Unix
-- milliseconds and structured values are JSON text, so that one set of queries serves
-- both dialects; migrations/sqlite/0001_initial.sql is the same schema for SQLite.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT,
    name TEXT NOT NULL,
    avatar_url TEXT,
    auth_provider TEXT NOT NULL DEFAULT 'email',
    auth_provider_id TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    plan TEXT NOT NULL DEFAULT 'free',
    stripe_customer_id TEXT,
    stripe_subscription_id TEXT,
    compute_credits_used BIGINT NOT NULL DEFAULT 0,
    compute_credits_limit BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
CREATE UNIQUE INDEX users_provider_idx ON users (auth_provider, auth_provider_id);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    plan TEXT NOT NULL DEFAULT 'team',
    stripe_customer_id TEXT,
    stripe_subscription_id TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE org_members (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    joined_at BIGINT NOT NULL,
    UNIQUE (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    application_type TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    settings TEXT NOT NULL DEFAULT '{}',
    thumbnail_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX projects_owner_idx ON projects (owner_id);
CREATE INDEX projects_org_idx ON projects (org_id);

CREATE TABLE geometries (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    original_key TEXT NOT NULL,
    original_bytes BIGINT NOT NULL DEFAULT 0,
    processed_key TEXT,
    scale DOUBLE PRECISION NOT NULL DEFAULT 1,
    bounding_box TEXT,
    triangle_count BIGINT,
    surface_count BIGINT,
    volume DOUBLE PRECISION,
    surface_area DOUBLE PRECISION,
    surface_groups TEXT NOT NULL DEFAULT '[]',
    healing TEXT,
    analysis TEXT,
    processing_status TEXT NOT NULL DEFAULT 'pending',
    error_message TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX geometries_project_idx ON geometries (project_id);
CREATE INDEX geometries_status_idx ON geometries (processing_status);

CREATE TABLE meshes (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    geometry_id TEXT NOT NULL REFERENCES geometries(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT 'Mesh',
    method TEXT NOT NULL DEFAULT 'rules',
    status TEXT NOT NULL DEFAULT 'pending',
    cell_count BIGINT,
    point_count BIGINT,
    mesh_file_key TEXT,
    quality_metrics TEXT,
    ai_parameters TEXT,
    manual_overrides TEXT,
    boundary_layer_config TEXT,
    generation_time_seconds BIGINT,
    error_message TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX meshes_project_idx ON meshes (project_id);

CREATE TABLE simulation_cases (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    geometry_id TEXT REFERENCES geometries(id) ON DELETE CASCADE,
    mesh_id TEXT REFERENCES meshes(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    template_id TEXT REFERENCES simulation_cases(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX cases_project_idx ON simulation_cases (project_id);

CREATE TABLE simulation_jobs (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES simulation_cases(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'queued',
    executor TEXT NOT NULL DEFAULT 'local',
    cores_allocated BIGINT NOT NULL,
    node_count BIGINT,
    priority BIGINT NOT NULL DEFAULT 0,
    handle TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    started_at BIGINT,
    completed_at BIGINT,
    wall_time_seconds BIGINT,
    core_seconds_used BIGINT,
    cost_credits DOUBLE PRECISION,
    residual_history TEXT NOT NULL DEFAULT '[]',
    force_history TEXT NOT NULL DEFAULT '[]',
    results_key TEXT,
    log_key TEXT,
    error_message TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_case_idx ON simulation_jobs (case_id);
CREATE INDEX jobs_status_idx ON simulation_jobs (status);

CREATE TABLE postprocessing_views (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES simulation_jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    view_type TEXT NOT NULL,
    config TEXT NOT NULL,
    data_key TEXT,
    screenshot_key TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX views_job_idx ON postprocessing_views (job_id);

CREATE TABLE usage_records (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT REFERENCES organizations(id) ON DELETE SET NULL,
    record_type TEXT NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    job_id TEXT REFERENCES simulation_jobs(id) ON DELETE SET NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX usage_user_period_idx ON usage_records (user_id, period_start, period_end);

-- Refresh tokens and browser sessions: only a SHA-256 of the token is stored. A used
-- refresh token is revoked and points at its successor (rotation); reuse of a revoked
-- one revokes the whole family.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refresh', 'session')),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    replaced_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    ip TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
