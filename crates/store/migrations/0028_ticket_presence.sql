-- Who has a ticket open right now, and who is writing on it: staff see each other
-- before they answer the same customer twice. Rows older than a minute mean nothing
-- and are overwritten; nothing here is history.
CREATE TABLE ticket_presence (
    ticket_id     TEXT NOT NULL REFERENCES tickets(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    seen_at       BIGINT NOT NULL,
    -- Until when the person counts as typing a reply (0: not typing).
    typing_until  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (ticket_id, user_id)
);
