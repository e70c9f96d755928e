-- Service levels. Calendars: opening periods (JSON: weekday, start and end minutes) in
-- an IANA time zone, and closed days (JSON). Policies, in order: the first whose
-- conditions (JSON) a ticket meets sets its targets, in minutes of the calendar's
-- business time (calendar time without one).
CREATE TABLE business_calendars (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    time_zone   TEXT NOT NULL,
    periods     TEXT NOT NULL,
    holidays    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE sla_policies (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    position                BIGINT NOT NULL,
    conditions              TEXT NOT NULL,
    first_response_minutes  BIGINT,
    next_response_minutes   BIGINT,
    resolution_minutes      BIGINT,
    calendar_id             TEXT REFERENCES business_calendars(id),
    -- JSON: what happens before and at a breach.
    escalations             TEXT NOT NULL,
    -- The administrator who saved it last: its escalations change tickets with their
    -- rights, as Cedar decides them when the step runs.
    updated_by              TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

-- Each ticket's targets as far as they have come, rewritten from its history whenever
-- something happens to it (or its policies change). `due_at` is NULL while the clock
-- stands still (pending, solved), with `remaining_ms` left.
CREATE TABLE ticket_targets (
    ticket_id     TEXT NOT NULL REFERENCES tickets(id),
    target        TEXT NOT NULL,
    policy_id     TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    due_at        BIGINT,
    remaining_ms  BIGINT,
    met_at        BIGINT,
    PRIMARY KEY (ticket_id, target)
);
CREATE INDEX ticket_targets_due ON ticket_targets (due_at);

-- One escalation step of one target of one ticket, due at `fire_at`. A step is named
-- by its policy and its own content (not its place in the list), so reordering or
-- editing a policy's steps, or a ticket moving to another policy, never makes one
-- step's timer stand for another. Fired exactly once: the step's changes commit with
-- `fired_at`, whichever node gets there first, and a target measured again (paused,
-- resumed) keeps a fired step fired.
CREATE TABLE sla_timers (
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    target      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    policy_id   TEXT NOT NULL,
    step        TEXT NOT NULL,
    fire_at     BIGINT NOT NULL,
    fired_at    BIGINT,
    PRIMARY KEY (ticket_id, target, started_at, policy_id, step)
);
CREATE INDEX sla_timers_due ON sla_timers (fired_at, fire_at);
