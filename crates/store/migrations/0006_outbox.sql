-- Outbound mail. A row is committed in the same transaction as whatever caused it
-- (a reset link, a notice), so what was promised is sent even if the process dies.
-- `envelope_enc` (recipient, subject, body) is sealed with the organisation key and
-- wiped once the message is sent or given up. Workers on any node claim a due row by
-- setting a lease in one conditional UPDATE, so two nodes never send the same row at
-- once.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    envelope_enc     BYTEA NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued',
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- One-time links to choose a password serve three purposes: first setup of an account
-- (`setup`), an emailed invitation to a portal account (`invite`, which also proves
-- the customer controls the address), and password reset (`reset`, 15 minutes).
ALTER TABLE setup_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'setup';
