-- A number that moves whenever who a session's holder is, or whether a session still
-- counts, may have changed: any change to an account, to team membership, or to a
-- session's revocation, stage, proof time or lifetime. Each node caches authenticated
-- sessions and trusts an entry only while this number is the one it was loaded under,
-- so a sign-out, a role or team change or a disabled account takes effect on every
-- node at its next request. Written by triggers, so no code path can forget it. Only
-- `touch_session` may change a session's idle deadline outside them, and only to move
-- it later.
-- (SQLite has its own text of this migration: 0042_identity_changes.sqlite.sql.)
INSERT INTO counters (name, value) VALUES ('identity_change', 0);

CREATE FUNCTION palisade_identity_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'identity_change';
    RETURN NULL;
END
$$;

-- Deferred constraint triggers, one run per changed row: the counter row is locked only
-- at commit, after every other lock a transaction takes (the audit chain's head
-- included), so two transactions that lock sessions and accounts in different orders
-- never wait for each other through it; a statement that changes nothing moves nothing.
CREATE CONSTRAINT TRIGGER users_identity_change AFTER UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION palisade_identity_changed();
CREATE CONSTRAINT TRIGGER team_members_identity_change AFTER INSERT OR UPDATE OR DELETE ON team_members
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION palisade_identity_changed();
-- Not on last_seen_at / idle_expires_at: every active session moves those (only ever
-- later), and a cached entry checks its own idle deadline and reloads once it passed.
CREATE CONSTRAINT TRIGGER sessions_identity_change
    AFTER UPDATE OF revoked_at, stage, auth_at, expires_at, token_hash, user_id OR DELETE ON sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION palisade_identity_changed();
-- A cached account holds fields opened with its data key: a key rewrapped or destroyed
-- (erasure) makes those entries stale too.
CREATE CONSTRAINT TRIGGER data_keys_identity_change AFTER UPDATE OR DELETE ON data_keys
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION palisade_identity_changed();
