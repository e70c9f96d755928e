-- Palisade schema for PostgreSQL and SQLite. Written in PostgreSQL's dialect; for SQLite
-- the migration runner swaps BYTEA for BLOB, the one type the two name differently.
-- Times are BIGINT Unix milliseconds and flags BIGINT 0/1, so the same queries serve
-- both databases.

CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    wrapped     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE companies (
    id             TEXT PRIMARY KEY,
    name_enc       BYTEA NOT NULL,
    share_tickets  BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    role           TEXT NOT NULL,
    data_key_id    TEXT NOT NULL REFERENCES data_keys(id),
    email_index    TEXT NOT NULL UNIQUE,
    email_enc      BYTEA NOT NULL,
    name_enc       BYTEA NOT NULL,
    phone_enc      BYTEA,
    company_id     TEXT REFERENCES companies(id),
    password_hash  TEXT,
    disabled       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX users_role_created ON users (role, created_at, id);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id),
    user_id  TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 1000);

CREATE TABLE tickets (
    id            TEXT PRIMARY KEY,
    number        BIGINT NOT NULL UNIQUE,
    requester_id  TEXT NOT NULL REFERENCES users(id),
    company_id    TEXT REFERENCES companies(id),
    team_id       TEXT NOT NULL REFERENCES teams(id),
    assignee_id   TEXT REFERENCES users(id),
    status        TEXT NOT NULL,
    data_key_id   TEXT NOT NULL REFERENCES data_keys(id),
    subject_enc   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX tickets_team_created ON tickets (team_id, created_at, id);
CREATE INDEX tickets_requester_created ON tickets (requester_id, created_at, id);
CREATE INDEX tickets_company_created ON tickets (company_id, created_at, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id);
CREATE INDEX tickets_created ON tickets (created_at, id);

CREATE TABLE ticket_collaborators (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_collaborators_user ON ticket_collaborators (user_id);

CREATE TABLE ticket_tags (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    author_id   TEXT NOT NULL REFERENCES users(id),
    visibility  TEXT NOT NULL,
    body_enc    BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at, id);

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    ticket_id     TEXT NOT NULL REFERENCES tickets(id),
    uploader_id   TEXT NOT NULL REFERENCES users(id),
    visibility    TEXT NOT NULL,
    filename_enc  BYTEA NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    content_enc   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, created_at, id);

-- Keyed word tokens of subjects and messages: searchable without plaintext on disk.
-- `visibility` keeps words of internal notes out of customers' searches.
CREATE TABLE search_terms (
    term        TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    visibility  TEXT NOT NULL,
    PRIMARY KEY (term, ticket_id, visibility)
);
CREATE INDEX search_terms_ticket ON search_terms (ticket_id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE setup_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- One row: the chain head. Appenders lock it, which orders appends from every node.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    signature  TEXT NOT NULL
);
