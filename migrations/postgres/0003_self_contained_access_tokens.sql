-- Access tokens are self-contained (idp-core `access_token.rs`): issuing one writes no row.
-- What remains is a row per explicitly revoked token, kept until the token would have expired;
-- tokens revoked with their family are found through `token_families`.
DROP TABLE access_tokens;
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
