-- The organisation tree of a tenant (issue 5): government bodies by level with region codes,
-- their departments, and enterprises keyed by unified social credit code (flagged when a check
-- character disagrees). `path` is the materialised path `/root/…/id/` for subtree queries.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES organisations(id),
    level TEXT,
    region_code TEXT,
    uscc TEXT,
    uscc_flagged BOOLEAN NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, uscc)
);
CREATE INDEX organisations_path ON organisations (tenant_id, path);

-- Memberships: an account as staff of a body or department, with roles (JSON array).
CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX memberships_account ON memberships (account_id);
