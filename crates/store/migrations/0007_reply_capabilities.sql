-- Capabilities behind reply addresses: one per (ticket, participant), named in mail by
-- a MACed token (crypto::CapabilityKeys). Removing a participant revokes theirs, so a
-- reply address that leaked stops working.
CREATE TABLE reply_capabilities (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL REFERENCES tickets(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    key_version  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX reply_capabilities_participant ON reply_capabilities (ticket_id, user_id);
