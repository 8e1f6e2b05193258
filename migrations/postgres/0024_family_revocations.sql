-- Why a token family was revoked, so that a refresh token or code of a revoked family can say
-- so (`invalid_grant` with the reason in `error_description`): `code_replay`, `refresh_replay`,
-- `withdrawn` (the person withdrew consent), `client_disabled`, `revoked` (RFC 7009, by the
-- client), `account` (the account was disabled or deleted), `context` (the acting context
-- ended). The first reason recorded stays. Purged with the family.
CREATE TABLE family_revocations (
    family_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL
);
