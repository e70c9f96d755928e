-- Macros: a canned reply (or internal note) with changes to the ticket, applied in one
-- step. A personal macro has an owner; a shared one has none, and a team when only
-- that team's agents may use it. The text is the organisation's own wording, not
-- personal data, so it is kept as written.
CREATE TABLE macros (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    owner_id      TEXT REFERENCES users(id),
    team_id       TEXT REFERENCES teams(id),
    body          TEXT NOT NULL,
    visibility    TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
    set_status    TEXT,
    set_priority  TEXT,
    set_type      TEXT,
    -- 'me' (whoever applies it) or 'nobody'.
    set_assignee  TEXT CHECK (set_assignee IN ('me', 'nobody')),
    set_team      TEXT REFERENCES teams(id),
    -- Space-separated tags to add.
    add_tags      TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX macros_owner ON macros (owner_id);
