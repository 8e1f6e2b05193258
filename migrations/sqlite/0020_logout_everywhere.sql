-- Logout everywhere (issue 7, OpenID Connect Back-Channel and Front-Channel Logout 1.0).
-- session_clients: which clients received a code in which browser session, written with the
-- code; read when the session ends, purged once no session has the sid.
CREATE TABLE session_clients (
    sid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
-- logout_deliveries: a logout token to POST to a client's back-channel URI; one node at a time
-- holds a due delivery (leased_until), retries wait longer each time (next_attempt_at), and a
-- delivery is given up (expired) a day after the session ended. Kept a week after it is over,
-- so administrators can see what happened.
CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    uri TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    leased_until BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (status, next_attempt_at);
CREATE INDEX logout_deliveries_client ON logout_deliveries (tenant_id, client_id, created_at);
