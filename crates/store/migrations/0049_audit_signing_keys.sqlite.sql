-- SQLite's text of 0049_audit_signing_keys.sql (see there for why): the same tables,
-- and the trigger without a trigger function.
ALTER TABLE audit_checkpoints ADD COLUMN public_key TEXT;
CREATE TABLE audit_retired_keys (
    public_key  TEXT PRIMARY KEY,
    retired_seq BIGINT NOT NULL
);

CREATE TRIGGER audit_checkpoints_unnamed_after_handover BEFORE INSERT ON audit_checkpoints
WHEN NEW.public_key IS NULL AND EXISTS (SELECT 1 FROM audit_retired_keys)
BEGIN SELECT RAISE(IGNORE); END;
