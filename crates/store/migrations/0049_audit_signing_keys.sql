-- Moving checkpoint signing to a new key (`[audit] signing_key_file`). A checkpoint
-- names the public key that signed it (NULL: made before checkpoints named it, signed
-- by the master key's root). A key handed over from is listed with the audit entry
-- that retired it, so that a node configured with it signs nothing and is refused at
-- start. Verification never trusts this table: only the trail's handover entries and
-- the keys the operator configured.
-- (SQLite has its own text of this migration: 0049_audit_signing_keys.sqlite.sql.)
ALTER TABLE audit_checkpoints ADD COLUMN public_key TEXT;
CREATE TABLE audit_retired_keys (
    public_key  TEXT PRIMARY KEY,
    retired_seq BIGINT NOT NULL
);

-- A node of an earlier release signs with the root's key and names none. Once signing
-- was handed over, such a checkpoint would be out of turn and fail verification for
-- good, so it is dropped instead (the current key's checkpoints cover those entries).
CREATE FUNCTION palisade_unnamed_checkpoint_after_handover() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.public_key IS NULL AND EXISTS (SELECT 1 FROM audit_retired_keys) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_checkpoints_unnamed_after_handover BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION palisade_unnamed_checkpoint_after_handover();
