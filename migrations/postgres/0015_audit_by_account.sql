-- A person's own audit events (e.g. the claims released about them) for the account pages.
CREATE INDEX audit_events_account ON audit_events (account_id, kind, at);
