-- Master-key rotation (`palisade keys rotate-master`). Each data key's row names the
-- wrapping key that sealed it (NULL: the key the database started with), so a
-- rotation knows what is left to re-wrap and can resume after a crash. A rotation
-- under way carries its new wrapping key sealed under the old one, for nodes that hold
-- the old key to learn and keep serving; once every data key is re-wrapped that copy
-- is erased and the old key is retired: a node that starts with it is refused.
ALTER TABLE data_keys ADD COLUMN kek_id TEXT;
CREATE TABLE master_rotations (
    new_kek_id  TEXT PRIMARY KEY,
    old_kek_id  TEXT NOT NULL,
    next_sealed BYTEA,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    rewrapped   BIGINT NOT NULL DEFAULT 0,
    -- 1 while under way, NULL once finished: at most one rotation at a time, even
    -- when two are started at the same moment.
    under_way   SMALLINT UNIQUE
);
