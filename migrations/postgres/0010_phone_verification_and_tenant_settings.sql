-- When the account's phone number was last proven by an SMS code sent to it (issue 4).
ALTER TABLE accounts ADD COLUMN phone_verified_at BIGINT;
-- A tenant's settings as JSON (model::TenantSettings; missing members take their defaults):
-- for now, which sign-in methods and second factors it offers.
ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
