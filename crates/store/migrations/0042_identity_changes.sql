-- A number that moves whenever who a session's holder is, or whether a session still
-- counts, may have changed: any change to an account, to team membership, or to a
-- session's revocation, stage, proof time or lifetime. Each node caches authenticated
-- sessions and trusts an entry only while this number is the one it was loaded under,
-- so a sign-out, a role or team change or a disabled account takes effect on every
-- node at its next request. Written by triggers, so no code path can forget it.
-- (SQLite has its own text of this migration: 0042_identity_changes.sqlite.sql.)
INSERT INTO counters (name, value) VALUES ('identity_change', 0);

CREATE FUNCTION palisade_identity_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'identity_change';
    RETURN NULL;
END
$$;

CREATE TRIGGER users_identity_change AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_identity_changed();
CREATE TRIGGER team_members_identity_change AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_identity_changed();
-- Not on last_seen_at / idle_expires_at: every active session moves those, and a cached
-- entry checks its own idle deadline (and reloads when it has passed).
CREATE TRIGGER sessions_identity_change
    AFTER UPDATE OF revoked_at, stage, auth_at, expires_at, token_hash, user_id OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION palisade_identity_changed();
