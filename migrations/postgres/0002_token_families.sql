-- One row per token family (everything issued from one authorization code). Rotation and
-- revocation of a family take this row's lock first, so they are serialised per family and
-- can neither deadlock nor let a successor escape a concurrent revocation.
CREATE TABLE token_families (
    family_id TEXT PRIMARY KEY,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT NOT NULL
);
