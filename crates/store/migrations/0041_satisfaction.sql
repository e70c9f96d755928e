-- Customer satisfaction: one answer per ticket (good or bad, and a comment sealed with
-- the ticket's data key), changeable until the ticket closes.
CREATE TABLE satisfaction (
    ticket_id    TEXT PRIMARY KEY REFERENCES tickets(id),
    rating       TEXT NOT NULL,
    comment_enc  BYTEA NOT NULL,
    rated_by     TEXT NOT NULL REFERENCES users(id),
    rated_at     BIGINT NOT NULL
);
CREATE INDEX satisfaction_rated ON satisfaction (rated_at);

-- The links a solved ticket's requester is mailed to answer with: stored as hashes,
-- used once, expiring.
CREATE TABLE satisfaction_links (
    token_hash  TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX satisfaction_links_ticket ON satisfaction_links (ticket_id);

-- Whether a team's requesters are asked, by mail, once a ticket is solved.
ALTER TABLE teams ADD COLUMN satisfaction_survey BIGINT NOT NULL DEFAULT 0;
-- The survey's text in the team's own words per language (JSON), the built-in ones
-- without.
ALTER TABLE teams ADD COLUMN survey_texts TEXT NOT NULL DEFAULT '{}';
