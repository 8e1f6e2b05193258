-- The level every request of a session needs whatever the client asks, fixed at sign-in from
-- the account's roles (staff and administrators: aal2), so the SSO path reads nothing more.
ALTER TABLE sessions ADD COLUMN min_acr TEXT;
