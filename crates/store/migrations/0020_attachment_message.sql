-- A file can belong to the message that carried it (mail attachments and inline
-- images); files uploaded on their own have none. `content_id` is the part's
-- Content-ID, for the inline images an HTML message refers to; `position` keeps a
-- message's files in the order it had them.
ALTER TABLE attachments ADD COLUMN message_id TEXT REFERENCES messages(id);
ALTER TABLE attachments ADD COLUMN content_id TEXT;
ALTER TABLE attachments ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
CREATE INDEX attachments_message ON attachments (message_id);

-- The message as it arrived by mail, byte for byte, sealed under the ticket's key:
-- staff may download it (`.eml`) to see what the desk's reading of it left out.
CREATE TABLE message_originals (
    message_id  TEXT PRIMARY KEY REFERENCES messages(id),
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    raw_enc     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
