-- Real-name binding (issue 5): one bound identity per account. The ID number is sealed under
-- the KEK, looked up by a keyed hash (one number binds at most one account per tenant), and
-- shown masked. The level is recorded with its method, verifier, time and evidence reference.
CREATE TABLE real_names (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    level BIGINT NOT NULL,
    name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_sealed BLOB NOT NULL,
    id_hash TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    method TEXT NOT NULL,
    verifier TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    evidence TEXT,
    UNIQUE (tenant_id, id_hash)
);
