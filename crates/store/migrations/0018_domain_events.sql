-- What happened, as the service layer records it in the transaction of the change:
-- `ticket.created`, `message.added`, … with the channel it came through. Ids and
-- states only, never content (that stays sealed where it lives). Numbered from a
-- counter row every recording transaction locks, so numbers follow commit order and a
-- reader that has seen number n has seen everything before it.
CREATE TABLE domain_events (
    seq      BIGINT PRIMARY KEY,
    kind     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    channel  TEXT NOT NULL,
    actor    TEXT NOT NULL,
    detail   TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX domain_events_subject ON domain_events (subject, seq);
INSERT INTO counters (name, value) VALUES ('domain_event', 0);
