-- Webhook endpoints: where the desk posts signed events (Standard Webhooks), for which
-- event types, for one team's tickets or all, and as whom — the payload holds only
-- what `run_as` may read. The signing secret is sealed with the organisation key;
-- during a rotation the previous one signs too, until `previous_until`.
CREATE TABLE webhook_endpoints (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    event_types          TEXT NOT NULL,
    team_id              TEXT REFERENCES teams(id),
    run_as               TEXT NOT NULL REFERENCES users(id),
    secret_enc           BYTEA NOT NULL,
    previous_secret_enc  BYTEA,
    previous_until       BIGINT,
    enabled              BIGINT NOT NULL DEFAULT 1,
    created_by           TEXT NOT NULL REFERENCES users(id),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- One event for one endpoint. The queue holds no content: the payload is built from
-- the event and the ticket when it is sent, so what was erased is never sent and a
-- right taken away counts from then. A row is claimed with a lease (any node); within
-- one endpoint a ticket's events go out in order, a later one waiting while an earlier
-- one is retried. `status`: pending, delivered, failed (given up), skipped (not
-- readable by the endpoint's account).
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_seq        BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    ticket_id        TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    last_status      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ticket_id, event_seq);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (endpoint_id, created_at);
