-- Triggers and automations: rules of conditions and actions a team's tickets run
-- through, on an event (`trigger`) or once a ticket has stayed in a state long enough
-- (`automation`). The definition is JSON the service validates on save.
CREATE TABLE automation_rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    team_id     TEXT NOT NULL REFERENCES teams(id),
    position    BIGINT NOT NULL,
    enabled     BIGINT NOT NULL,
    definition  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One run of one rule on one ticket: caused by an event (`event_seq`, `since` 0) or
-- by a state the ticket entered at `since` (`event_seq` 0). The key makes a rule run
-- at most once per cause, however many nodes look. `chain` (JSON) names the rules
-- whose changes led here, so none retriggers itself and chains stay short.
CREATE TABLE rule_runs (
    rule_id      TEXT NOT NULL,
    ticket_id    TEXT NOT NULL REFERENCES tickets(id),
    event_seq    BIGINT NOT NULL,
    since        BIGINT NOT NULL,
    chain        TEXT NOT NULL,
    state        TEXT NOT NULL,
    outcome      TEXT,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (rule_id, ticket_id, event_seq, since)
);
CREATE INDEX rule_runs_state ON rule_runs (state, created_at);
CREATE INDEX rule_runs_ticket ON rule_runs (ticket_id, created_at);
