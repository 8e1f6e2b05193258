-- Sessions that began with a sign-in through an upstream identity provider
-- (idp/server/src/http/signin/upstream_link.rs): the upstream, its subject and its own session
-- id, so that a back-channel logout from the upstream ends them, a client that requires that
-- upstream sees where the session came from, and a logout here can be passed on. One row per
-- session (`sid`); rows whose session is gone are purged with the expired rows.
CREATE TABLE upstream_sessions (
    sid TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    upstream_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL,
    upstream_sid TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX upstream_sessions_subject ON upstream_sessions (tenant_id, upstream_id, subject);
CREATE INDEX upstream_sessions_upstream_sid ON upstream_sessions (tenant_id, upstream_id, upstream_sid);
