-- The tamper-evident audit trail (issue 6): each record carries its chain (the tenant id, `-`
-- for none), its sequence number in that chain and the keyed hash linking it to the one before
-- (idp_core::audit). audit_heads keeps each chain's last sequence number and hash, updated in
-- the transaction that appends, so a removed tail shows. Records written before this
-- migration have no chain and are reported as unchained.
ALTER TABLE audit_events ADD COLUMN chain TEXT;
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain, seq);
CREATE INDEX audit_events_kind ON audit_events (tenant_id, kind, at);
CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
-- Append-only: the application never changes or removes a record. (Someone with the database
-- owner's rights can drop this; the chain then still tells.)
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
