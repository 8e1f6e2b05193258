-- Where an enterprise role came from: NULL when it was granted here (account pages, admin API),
-- `licence:{upstream}:{authorisation}` when the electronic business licence granted it
-- (idp/core/src/licence.rs), so that a revocation the licence system notifies ends it.
ALTER TABLE memberships ADD COLUMN source TEXT;
CREATE INDEX memberships_source ON memberships (tenant_id, source);
