-- Saved views of the ticket list: a name and a filter (JSON of status, priority, type,
-- team, assignee and tag), personal (an owner) or shared with a team (no owner).
CREATE TABLE saved_views (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_id    TEXT REFERENCES users(id),
    team_id     TEXT REFERENCES teams(id),
    filter      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
