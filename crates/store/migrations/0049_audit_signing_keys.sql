-- Moving checkpoint signing to a new key (`[audit] signing_key_file`). A checkpoint
-- names the public key that signed it (NULL: made before checkpoints named it, signed
-- by the master key's root). A key handed over from is listed with the audit entry
-- that retired it, so that a node still configured with it stops signing and is
-- refused at start. Verification never trusts this table: only the trail's handover
-- entries and the keys the operator configured.
ALTER TABLE audit_checkpoints ADD COLUMN public_key TEXT;
CREATE TABLE audit_retired_keys (
    public_key  TEXT PRIMARY KEY,
    retired_seq BIGINT NOT NULL
);
