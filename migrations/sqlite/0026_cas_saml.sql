-- CAS 3.0 (idp/core/src/cas.rs) and SAML 2.0 (idp/core/src/saml/).
-- cas_session_tickets: the service tickets validated in each browser session, with the service URL they were validated for, written at validation; read
-- when the session ends to send each service the CAS logoutRequest naming its ticket (the
-- ticket is used up by then: it cannot be validated again), purged once no session has the sid.
CREATE TABLE cas_session_tickets (
    sid TEXT NOT NULL,
    ticket TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    service TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sid, ticket)
);
-- a CAS single-logout delivery names the ticket (the SAML SessionIndex), a SAML SOAP one the
-- assertion's SessionIndex and NameID; NULL: an OpenID Connect back-channel logout token
ALTER TABLE logout_deliveries ADD COLUMN session_index TEXT;
ALTER TABLE logout_deliveries ADD COLUMN name_id TEXT;
ALTER TABLE logout_deliveries ADD COLUMN name_id_format TEXT;
-- cas_pgts: proxy-granting tickets (by the SHA-256 of their value; `id` is the public reference
-- proxy tickets carry), with the sign-in behind them (JSON) and the proxy chain; usable while
-- the session of `sid` lives, purged with it or at expiry.
CREATE TABLE cas_pgts (
    id TEXT PRIMARY KEY,
    pgt_hash TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    authz TEXT NOT NULL,
    pgt_url TEXT NOT NULL,
    proxies TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX cas_pgts_sid ON cas_pgts (sid);
-- saml_participations: the assertions issued to SAML service providers in each browser session
-- (SAML Profiles §4.4: single logout names the NameID and SessionIndex the provider issued);
-- written with the assertion, read when the session ends or a service provider asks to end it,
-- purged once no session has the sid.
CREATE TABLE saml_participations (
    sid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    session_index TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    name_id TEXT NOT NULL,
    name_id_format TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id, session_index)
);
CREATE INDEX saml_participations_name ON saml_participations (tenant_id, client_id, name_id);
