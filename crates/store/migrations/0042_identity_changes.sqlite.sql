-- SQLite's text of 0042_identity_changes.sql (see there for why): the same triggers,
-- one per event, as SQLite has no trigger functions (and, with one writer, no need to
-- defer them to commit).
INSERT INTO counters (name, value) VALUES ('identity_change', 0);

CREATE TRIGGER users_identity_update AFTER UPDATE ON users
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
CREATE TRIGGER users_identity_delete AFTER DELETE ON users
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;

CREATE TRIGGER team_members_identity_insert AFTER INSERT ON team_members
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
CREATE TRIGGER team_members_identity_update AFTER UPDATE ON team_members
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
CREATE TRIGGER team_members_identity_delete AFTER DELETE ON team_members
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;

CREATE TRIGGER sessions_identity_update
AFTER UPDATE OF revoked_at, stage, auth_at, expires_at, token_hash, user_id ON sessions
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
CREATE TRIGGER sessions_identity_delete AFTER DELETE ON sessions
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;

CREATE TRIGGER data_keys_identity_update AFTER UPDATE ON data_keys
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
CREATE TRIGGER data_keys_identity_delete AFTER DELETE ON data_keys
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'identity_change'; END;
