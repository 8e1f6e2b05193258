-- The audit trail searched by the client IP address an event came from (the console's audit
-- filter): newest first within a tenant.
CREATE INDEX audit_events_ip ON audit_events (tenant_id, ip, seq);
