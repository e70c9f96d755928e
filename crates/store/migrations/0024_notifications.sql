-- Agents' notifications. A row says only who, what kind and which ticket: the
-- ticket's number and subject are read (and the reader authorised) when it is shown
-- or mailed, so nothing is delivered to someone who can no longer read the ticket.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    created_at  BIGINT NOT NULL,
    read_at     BIGINT,
    -- 'pending' until the next digest mail takes it, then 'sent'; NULL when the
    -- agent does not get this kind by digest.
    digest      TEXT
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
CREATE INDEX notifications_digest ON notifications (digest, user_id);

-- Per agent and kind: off, in_app, email or digest (no row: the kind's default).
CREATE TABLE notification_preferences (
    user_id  TEXT NOT NULL REFERENCES users(id),
    kind     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Staff who follow a ticket hear of customers' replies on it.
CREATE TABLE ticket_followers (
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_followers_user ON ticket_followers (user_id);
