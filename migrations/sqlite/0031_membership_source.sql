-- Where an enterprise role came from: NULL when it was granted here (account pages, admin API),
-- `licence:{upstream}:{authorisation}` when the electronic business licence granted it
-- (idp/core/src/licence.rs), so that a revocation the licence system notifies ends it.
ALTER TABLE memberships ADD COLUMN source TEXT;
CREATE INDEX memberships_source ON memberships (tenant_id, source);
-- Revocations the licence system notified, for good: a revoked authorisation's source, or
-- `cancelled:{upstream}:{uscc}` for a cancelled licence. A sign-in confirmed before the
-- notification arrived grants nothing it names.
CREATE TABLE membership_revocations (
    tenant_id TEXT NOT NULL,
    source TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, source)
);
