-- Upstream OpenID providers of a tenant (identity brokering, idp/core/src/upstream.rs): the
-- issuer, this provider's client there, the client secret sealed under the KEK, and the
-- operator's settings as JSON (idp_core::model::UpstreamSettings; a new setting needs no
-- migration).
CREATE TABLE upstreams (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    secret_sealed BLOB,
    settings TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Accounts linked to an upstream's subjects: one account per subject, one subject per account
-- and upstream; how the link was made (verified_id, proved_local, account_page, created).
CREATE TABLE upstream_links (
    tenant_id TEXT NOT NULL,
    upstream_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    via TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    last_acr TEXT,
    PRIMARY KEY (tenant_id, upstream_id, subject),
    UNIQUE (tenant_id, upstream_id, account_id),
    FOREIGN KEY (tenant_id, upstream_id) REFERENCES upstreams (tenant_id, id)
);
CREATE INDEX upstream_links_account ON upstream_links (account_id);
