-- Contact verification on the account pages (issue 7): when a code sent to the account's email
-- address last proved it (the email_verified claim). Existing addresses stay unverified.
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;
