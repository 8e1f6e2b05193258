-- SMS one-time codes (issue 4): one live code per tenant, phone and purpose, stored as an HMAC
-- under a KEK-derived key; attempts counted, so a code dies after five wrong tries.
CREATE TABLE sms_codes (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    phone TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_mac TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, phone, purpose)
);
