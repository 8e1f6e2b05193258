-- Rate-limit windows shared by every node on one database (fixed one-minute windows): the
-- credential limits hold across nodes.
CREATE TABLE rate_limit_windows (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);

-- Change counters: a node that changes shared configuration (a tenant's signing keys) bumps
-- one; every node polls them and drops what it cached.
CREATE TABLE change_counters (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
