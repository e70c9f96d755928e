-- A duplicate merged into another ticket points to its survivor: its messages, files
-- and participants moved there, and mail to its old reply addresses follows.
ALTER TABLE tickets ADD COLUMN merged_into TEXT REFERENCES tickets(id);

-- Related tickets, each pair once (the smaller id first).
CREATE TABLE ticket_links (
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    linked_id   TEXT NOT NULL REFERENCES tickets(id),
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, linked_id),
    CHECK (ticket_id < linked_id)
);
CREATE INDEX ticket_links_linked ON ticket_links (linked_id);
