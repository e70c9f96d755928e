-- A ticket whose requester nobody has proved to be: mail released from quarantine and
-- anonymous assistant handovers name an address anyone can type. Such a ticket stays
-- out of that customer's portal (and their company's) until the address's owner
-- confirms it, by the link mailed there or by an authenticated reply through the
-- ticket's reply address. Existing tickets were all opened by their requesters.
ALTER TABLE tickets ADD COLUMN requester_confirmed BIGINT NOT NULL DEFAULT 1;

-- The links mailed for that confirmation: stored as hashes, used once, expiring.
CREATE TABLE requester_confirmations (
    token_hash  TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX requester_confirmations_ticket ON requester_confirmations (ticket_id);
