-- Retention: how long solved tickets, assistant transcripts, quarantined mail and
-- network addresses are kept. `scope` is 'desk', 'team:<id>' or 'company:<id>'; for a
-- ticket the company's schedule applies, else its team's, else the desk's. A NULL
-- number of days keeps that kind of data.
CREATE TABLE retention_schedules (
    scope             TEXT PRIMARY KEY,
    tickets_days      BIGINT,
    tickets_action    TEXT NOT NULL DEFAULT 'anonymise' CHECK (tickets_action IN ('anonymise', 'erase')),
    transcripts_days  BIGINT,
    quarantine_days   BIGINT,
    addresses_days    BIGINT,
    updated_by        TEXT NOT NULL REFERENCES users(id),
    updated_at        BIGINT NOT NULL
);

-- Each run of the schedules, with what it did (JSON counts). `finished_at` stays NULL
-- for a run that stopped midway (the next run carries on: what is due is read afresh).
CREATE TABLE retention_runs (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    started_by   TEXT NOT NULL,
    counts       TEXT NOT NULL
);
CREATE INDEX retention_runs_started ON retention_runs (started_at);

-- A ticket kept for reports with everything written in it and everyone outside the
-- staff removed.
ALTER TABLE tickets ADD COLUMN anonymised_at BIGINT;
CREATE INDEX tickets_status_updated ON tickets (status, updated_at);

-- The network address of an entry is kept outside the chain: the hash covers the
-- address's network and a salted commitment to the whole address. Retention shortens
-- the address to its network and deletes the salt. Entries written before this
-- release have no commitment (empty) and their hash covers the address itself.
ALTER TABLE audit_log ADD COLUMN ip_salt TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN ip_commit TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_salted ON audit_log (at) WHERE ip_salt <> '';
