-- Privacy law: erasure of a person, access to what is stored about them, the requests
-- privacy staff answer, legal holds.

-- An erased account keeps its row (tickets, messages and the audit trail name its id)
-- but nothing of the person: no address, name or key.
ALTER TABLE users ADD COLUMN erased_at BIGINT;

-- Requests about one person, each with the date it must be answered by. `reason_enc`
-- is sealed with the organisation key.
CREATE TABLE privacy_requests (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('erasure', 'access')),
    person_id     TEXT NOT NULL REFERENCES users(id),
    reason_enc    BYTEA NOT NULL,
    requested_by  TEXT NOT NULL REFERENCES users(id),
    requested_at  BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    -- Why internal notes are left out of an access export (sealed), if they are.
    withheld_enc  BYTEA,
    -- Erasure: awaiting_approval, done or declined. Access: building, ready, done,
    -- failed, or declined (the person was erased meanwhile).
    state         TEXT NOT NULL,
    decided_by    TEXT REFERENCES users(id),
    decided_at    BIGINT
);
CREATE INDEX privacy_requests_due ON privacy_requests (state, due_at);
CREATE INDEX privacy_requests_person ON privacy_requests (person_id);

-- Every erasure done, by id only: what a restore of an older backup must do again
-- (the signed ledger beside the master key holds the same list).
CREATE TABLE erasures (
    user_id      TEXT PRIMARY KEY,
    data_key_id  TEXT NOT NULL,
    erased_at    BIGINT NOT NULL
);

-- A built access export, sealed under the person's data key, until its one download.
-- `link_hash` names the current single-use download link.
CREATE TABLE privacy_exports (
    request_id       TEXT PRIMARY KEY REFERENCES privacy_requests(id),
    data_key_id      TEXT NOT NULL,
    archive_enc      BYTEA NOT NULL,
    built_at         BIGINT NOT NULL,
    link_hash        TEXT UNIQUE,
    link_expires_at  BIGINT
);

CREATE TABLE legal_holds (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('customer', 'company', 'ticket')),
    target_id    TEXT NOT NULL,
    reason_enc   BYTEA NOT NULL,
    placed_by    TEXT NOT NULL REFERENCES users(id),
    placed_at    BIGINT NOT NULL,
    released_by  TEXT REFERENCES users(id),
    released_at  BIGINT
);
CREATE INDEX legal_holds_target ON legal_holds (kind, target_id);

-- A subject-access export gathers the audit entries a person made or that name them.
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_object ON audit_log (object, seq);
