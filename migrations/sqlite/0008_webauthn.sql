-- Passkeys and security keys (issue 4). Only public data: the credential id, the public key and
-- the sign counter (inside `credential`, webauthn-rs's JSON). A credential id is registered once
-- per tenant. `flagged_at` is set when a sign counter that did not grow suggests a clone.
CREATE TABLE webauthn_credentials (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    cred_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    flagged_at BIGINT,
    UNIQUE (tenant_id, cred_id)
);
CREATE INDEX webauthn_credentials_account ON webauthn_credentials (account_id);

-- The state of a WebAuthn ceremony between its two requests (the challenge), used once.
CREATE TABLE webauthn_ceremonies (
    key TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    account_id TEXT,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
