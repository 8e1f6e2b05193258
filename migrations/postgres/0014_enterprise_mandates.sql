-- Enterprise roles (issue 5): the registered legal representative of an enterprise (from the
-- registry: name and the keyed hash of the ID number), and on memberships the mandate of an
-- agent: its matters (JSON), its window, who granted it, and when the agent confirmed it.
ALTER TABLE organisations ADD COLUMN representative_name TEXT;
ALTER TABLE organisations ADD COLUMN representative_hash TEXT;
ALTER TABLE memberships ADD COLUMN matters TEXT;
ALTER TABLE memberships ADD COLUMN starts_at BIGINT;
ALTER TABLE memberships ADD COLUMN expires_at BIGINT;
ALTER TABLE memberships ADD COLUMN confirmed_at BIGINT;
ALTER TABLE memberships ADD COLUMN granted_by TEXT;
