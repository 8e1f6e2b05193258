-- The acting context a person switched to on the account pages (issue 5): `self` or a
-- membership id. Later authorizations of this session take it without asking, unless the
-- client asks again with prompt=select_account.
ALTER TABLE sessions ADD COLUMN act_context TEXT;
