-- CAS 3.0 (idp/core/src/cas.rs). cas_session_tickets: the service tickets validated in each
-- browser session, with the service URL they were validated for, written at validation; read
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
-- a CAS single-logout delivery names the ticket (the SAML SessionIndex); NULL: an OpenID
-- Connect back-channel logout token
ALTER TABLE logout_deliveries ADD COLUMN session_index TEXT;
