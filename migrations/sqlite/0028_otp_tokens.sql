-- The one-time-password algorithm of an authenticator: rfc6238 (authenticator apps, 30-second
-- steps) or sm3 (GM/T 0021-2012 hardware tokens, with their own step of at most 60 seconds).
ALTER TABLE totp_credentials ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'rfc6238';
ALTER TABLE totp_credentials ADD COLUMN period BIGINT NOT NULL DEFAULT 30;
