-- Contact verification on the account pages (issue 7): when a code sent to the account's email
-- address proved it (the email_verified claim), for that address. A table of its own rather
-- than a column of accounts: the previous release reads accounts with SELECT *, and on
-- PostgreSQL a new column changes the result type of its prepared statements ("cached plan
-- must not change result type") while it still serves during a rolling upgrade.
CREATE TABLE email_verifications (
    account_id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    verified_at BIGINT NOT NULL
);
