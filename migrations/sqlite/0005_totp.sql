-- TOTP (issue 4): the seed sealed under the KEK; pending until the first correct code confirms
-- it; the last accepted time step, so that each code is accepted once.
CREATE TABLE totp_credentials (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sealed_secret BLOB NOT NULL,
    confirmed BOOLEAN NOT NULL,
    last_step BIGINT,
    created_at BIGINT NOT NULL
);

-- Single-use recovery codes, stored as SHA-256 digests (server-generated, high entropy).
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (account_id, code_hash)
);
