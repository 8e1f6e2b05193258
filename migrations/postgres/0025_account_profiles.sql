-- What a person tells about themselves beyond the account (OIDC Core §5.1 standard claims
-- released under `profile` and `address`): given and family names, nickname, picture, gender,
-- birth date, time zone, postal address… as one JSON document per account. Removed with the
-- account.
CREATE TABLE account_profiles (
    account_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    profile TEXT NOT NULL
);
