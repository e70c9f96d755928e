-- Received mail that is not authenticated waits here for an agent: sealed (envelope,
-- author and the whole message) with the organisation key, released into a ticket or
-- discarded, the decision audited.
CREATE TABLE quarantine (
    id            TEXT PRIMARY KEY,
    team_id       TEXT NOT NULL REFERENCES teams(id),
    received_at   BIGINT NOT NULL,
    sealed        BYTEA NOT NULL,
    status        TEXT NOT NULL DEFAULT 'held',
    decided_by    TEXT,
    decided_at    BIGINT
);
CREATE INDEX quarantine_status ON quarantine (status, received_at);

-- Messages already taken from an authenticated sender, by keyed hashes of sender and
-- Message-ID: a retransmission is acknowledged without a second copy.
CREATE TABLE received_messages (
    sender_index      TEXT NOT NULL,
    message_id_index  TEXT NOT NULL,
    received_at       BIGINT NOT NULL,
    PRIMARY KEY (sender_index, message_id_index)
);
