-- What each sync of a staff directory (LDAP) made of its entries (idp/core/src/directory.rs):
-- per entry (its entryUUID) the department or account it became, its DN and modifyTimestamp
-- as last read, so the next sync reads only what moved on and notices what is gone.
CREATE TABLE directory_records (
    tenant_id TEXT NOT NULL,
    directory TEXT NOT NULL,
    uuid TEXT NOT NULL,
    kind TEXT NOT NULL,
    dn TEXT NOT NULL,
    target TEXT NOT NULL,
    modified TEXT NOT NULL,
    PRIMARY KEY (tenant_id, directory, uuid)
);
CREATE INDEX directory_records_target ON directory_records (tenant_id, target);
