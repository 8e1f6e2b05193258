-- A sign-in whose first factor is done and whose second is awaited (issue 4): no session exists
-- until the second factor is given; the interaction carries who and how far (JSON).
ALTER TABLE interactions ADD COLUMN pending TEXT;
