-- The acting context chosen in an interaction (issue 5): `self`, or a membership id.
ALTER TABLE interactions ADD COLUMN act_context TEXT;
