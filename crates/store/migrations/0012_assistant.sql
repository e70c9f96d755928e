-- Assistant conversations. A conversation is reached with its secret (only its hash is
-- kept) and, when verified, only by its owner. Messages are stored after redaction,
-- sealed with the owner's data key (the organisation's for anonymous conversations).
CREATE TABLE assistant_conversations (
    id              TEXT PRIMARY KEY,
    secret_hash     TEXT NOT NULL,
    -- NULL for an anonymous conversation: it never reaches any account's data.
    user_id         TEXT REFERENCES users (id),
    -- How the owner was verified: anonymous, portal_session or site_token.
    verification    TEXT NOT NULL,
    data_key_id     TEXT NOT NULL,
    notice_version  TEXT NOT NULL,
    human_only      BIGINT NOT NULL,
    -- open, handed_over or ended.
    state           TEXT NOT NULL,
    ticket_id       TEXT,
    -- Questions in a row without an answer from the articles.
    misses          BIGINT NOT NULL,
    messages        BIGINT NOT NULL,
    client_ip       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX assistant_conversations_user ON assistant_conversations (user_id);

CREATE TABLE assistant_messages (
    conversation_id TEXT NOT NULL REFERENCES assistant_conversations (id),
    seq             BIGINT NOT NULL,
    -- customer or assistant.
    author          TEXT NOT NULL,
    body_enc        BYTEA NOT NULL,
    -- Space-separated ids of the articles an answer used.
    cited           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- A customer's standing choice about the assistant, with the notice they saw.
CREATE TABLE assistant_preferences (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    human_only      BIGINT NOT NULL,
    notice_version  TEXT NOT NULL,
    decided_at      BIGINT NOT NULL
);
