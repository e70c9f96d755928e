-- How far each subscriber of the domain events has got, and which node is working
-- for it: a subscriber's events are handled on one node at a time (the lease), in
-- order, and its position moves in the same transaction as what it did with them.
CREATE TABLE event_subscriptions (
    name         TEXT PRIMARY KEY,
    position     BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT NOT NULL
);
