-- What SCIM clients (HR systems) provisioned (idp/server/src/http/scim): per resource (an
-- account for a User, a department for a Group) the client that owns it and the SCIM data this
-- provider keeps beside the account or organisation (name parts, emails, phone numbers, roles,
-- the enterprise extension, externalId), with a version bumped by every write (ETags and
-- lost-update checks). A resource belongs to one client; others neither see nor change it.
CREATE TABLE scim_resources (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX scim_resources_client ON scim_resources (tenant_id, client_id, kind);
