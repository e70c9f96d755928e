-- Words of people's names and addresses as keyed hashes (the same kind as the ticket
-- search's terms, under their own domain), so staff find a customer, and the tickets
-- they asked, without the database holding a name in the clear. Rewritten whenever a
-- name changes; filled at start for accounts made before this table existed.
CREATE TABLE people_terms (
    term     TEXT NOT NULL,
    user_id  TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (term, user_id)
);
CREATE INDEX people_terms_user ON people_terms (user_id);
