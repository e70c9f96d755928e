-- The HTML part of a received message that had no plain-text part, as it arrived,
-- sealed under the ticket's key; it is sanitised each time it is shown, so a
-- tightened allow-list applies to mail received before it.
CREATE TABLE message_html (
    message_id  TEXT PRIMARY KEY REFERENCES messages(id),
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    html_enc    BYTEA NOT NULL
);
CREATE INDEX message_html_ticket ON message_html (ticket_id);
