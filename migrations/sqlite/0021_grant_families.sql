-- Withdrawing a grant (issue 7, DOMAIN.md: "withdrawal revokes that client's refresh tokens"):
-- which token families belong to which person and client, written with each authorization
-- code, so that a withdrawal revokes every family of the pair at once (and a code not yet
-- redeemed is born revoked). Purged an hour after its code expired if it never had tokens,
-- else once its family row is gone.
CREATE TABLE grant_families (
    family_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    code_expires_at BIGINT NOT NULL
);
CREATE INDEX grant_families_pair ON grant_families (tenant_id, account_id, client_id);
