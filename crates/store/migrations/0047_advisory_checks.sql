-- The results of checking the compiled-in dependencies against a RustSec advisory
-- database (`palisade advisories check`, and `serve` when `[advisories]` names one):
-- the administration pages show the latest, and an old one shows how long the desk has
-- gone unchecked. `findings` is the JSON list of what applied (advisory ids, crates,
-- versions; no personal data).
CREATE TABLE advisory_checks (
    id               TEXT PRIMARY KEY,
    checked_at       BIGINT NOT NULL,
    checked_by       TEXT NOT NULL,
    palisade_version TEXT NOT NULL,
    dependencies     BIGINT NOT NULL,
    advisories_read  BIGINT NOT NULL,
    vulnerable       BIGINT NOT NULL,
    warnings         BIGINT NOT NULL,
    findings         TEXT NOT NULL
);
CREATE INDEX advisory_checks_by_time ON advisory_checks (checked_at);
