-- Priority (low, normal, high, urgent; normal by default) and type (question,
-- incident, problem, task; unset by default) of a ticket, and the version every change
-- to it increments: an update names the version it was based on, and a stale one is
-- refused instead of silently overwriting what someone else changed.
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE tickets ADD COLUMN ticket_type TEXT
    CHECK (ticket_type IN ('question', 'incident', 'problem', 'task'));
ALTER TABLE tickets ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
