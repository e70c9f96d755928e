-- SQLite's text of 0046_search_terms_by_time.sql (see there for why): the same table;
-- SQLite names a primary key's index itself.
CREATE TABLE search_terms_by_time (
    term              TEXT NOT NULL,
    ticket_created_at BIGINT NOT NULL,
    ticket_id         TEXT NOT NULL REFERENCES tickets(id),
    visibility        TEXT NOT NULL,
    PRIMARY KEY (term, ticket_created_at, ticket_id, visibility)
);
INSERT INTO search_terms_by_time (term, ticket_created_at, ticket_id, visibility)
SELECT s.term, t.created_at, s.ticket_id, s.visibility
FROM search_terms s JOIN tickets t ON t.id = s.ticket_id
ORDER BY 1, 2, 3, 4;
DROP TABLE search_terms;
ALTER TABLE search_terms_by_time RENAME TO search_terms;
CREATE INDEX search_terms_ticket ON search_terms (ticket_id);
