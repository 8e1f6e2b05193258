-- Initial schema: tenants, keys, clients, accounts, sessions, interactions, grants, codes,
-- tokens and the audit trail. Times are Unix seconds; JSON documents are stored as TEXT.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    alg TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    active BOOLEAN NOT NULL
);
CREATE INDEX signing_keys_tenant ON signing_keys(tenant_id);

CREATE TABLE clients (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    secret_hash TEXT,
    settings TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE assertion_jtis (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    email TEXT,
    password_hash TEXT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    roles TEXT NOT NULL DEFAULT '[]',
    locale TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, username),
    UNIQUE (tenant_id, phone)
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    request TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    session_sid TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE grants (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, client_id)
);

CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    authz TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL,
    consumed BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    authz TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE access_tokens (
    token_key TEXT PRIMARY KEY,
    family_id TEXT,
    authz TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX access_tokens_family ON access_tokens(family_id);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT,
    kind TEXT NOT NULL,
    account_id TEXT,
    client_id TEXT,
    ip TEXT,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, id);
