-- VERP: each outbound message's envelope sender carries a MACed token naming a random
-- bounce id of its outbox row. The row keeps the recipient as a keyed blind index (the
-- same one users are found by), so a bounce can mark the address after the content is
-- wiped; a bounce never creates a ticket.
ALTER TABLE outbox ADD COLUMN bounce_id TEXT;
ALTER TABLE outbox ADD COLUMN recipient_index TEXT;
ALTER TABLE outbox ADD COLUMN bounced_at BIGINT;
CREATE UNIQUE INDEX outbox_bounce ON outbox (bounce_id);

CREATE TABLE bounced_addresses (
    address_index   TEXT PRIMARY KEY,
    bounces         BIGINT NOT NULL,
    last_bounce_at  BIGINT NOT NULL
);

-- Domains of senders whose authenticated mail reached a ticket, sealed with the
-- organisation key: the known domains a lookalike sender is compared with.
CREATE TABLE known_domains (
    domain_index  TEXT PRIMARY KEY,
    domain_enc    BYTEA NOT NULL,
    last_seen_at  BIGINT NOT NULL
);
CREATE INDEX known_domains_recent ON known_domains (last_seen_at);

-- How a message that arrived by mail was authenticated (the typed verdict, sealed),
-- for agents to see beside it.
CREATE TABLE mail_provenance (
    message_id    TEXT PRIMARY KEY REFERENCES messages(id),
    verdict_enc   BYTEA NOT NULL
);
