-- Postings in ticket time: each term row carries its ticket's creation time, and the
-- primary key orders a term's tickets by it. A search whose words are all common then
-- reads one word's newest tickets from an index range until it has a page, instead of
-- hashing every ticket that word is in (which grew with the desk: `bench/scale.sh`).
-- Probes by ticket still use the key, since a ticket's creation time never changes.
-- One text for both databases: on PostgreSQL the key keeps the name it was made with
-- (`search_terms_by_time_pkey`); nothing refers to it by name.
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
