-- Scheduled key rotation (issue 6): a key is published from creation, signs from
-- `activates_at` (the newest activated key of its algorithm signs), stays published after it
-- was replaced until `retires_at` (when every token it signed has expired), and is never used
-- again once `revoked_at` is set (an emergency). Keys from before keep signing order by
-- creation and never retire by themselves.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN retires_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
UPDATE signing_keys SET activates_at = created_at;
