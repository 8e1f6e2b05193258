-- Kiosk sign-ins (issue 7, RFC 8628 device authorization grant): a kiosk polls with its device
-- code (stored as its SHA-256), a person approves the user code on a phone. On approval an
-- authorization code is stored under the same hash; this row keeps the pending state, the
-- decision and the polling interval. Purged once expired.
CREATE TABLE device_grants (
    device_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    client_id TEXT NOT NULL,
    user_code TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    account_id TEXT,
    interval_seconds BIGINT NOT NULL,
    last_poll_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX device_grants_user_code ON device_grants (tenant_id, user_code);
CREATE INDEX device_grants_expiry ON device_grants (expires_at);
