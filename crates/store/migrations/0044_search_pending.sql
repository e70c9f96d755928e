-- A ticket's words are first written here, one row per text (its keyed terms as a JSON
-- array), and later merged into `search_terms` in batches (`search_merge.rs`). Writing each
-- of a text's ~31 randomly keyed terms straight into the term index dirtied one index
-- page per term inside every create's transaction, which was most of a create's time;
-- one row here is one page. Searches read both tables, so a word is findable from the
-- moment its ticket commits.
CREATE TABLE search_pending (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    visibility  TEXT NOT NULL,
    terms       TEXT NOT NULL
);
CREATE INDEX search_pending_ticket ON search_pending (ticket_id);
