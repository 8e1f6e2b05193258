-- Background work that must run on one node at a time (issue 8 §2): the minute's housekeeping
-- (purging what expired, scheduling key rotations) is leased by name; a node holds the lease
-- until `until` and renews it while it runs; another takes over once it has run out.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
