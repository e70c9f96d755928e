-- SQLite's text of 0044_search_pending.sql (see there for why): the same table, with
-- SQLite's own spelling of a generated key.
CREATE TABLE search_pending (
    seq         INTEGER PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    visibility  TEXT NOT NULL,
    terms       TEXT NOT NULL
);
CREATE INDEX search_pending_ticket ON search_pending (ticket_id);
