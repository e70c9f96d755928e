-- Every choice a customer made about the assistant, with the notice version they saw:
-- the standing choice (`assistant_preferences`) is only the newest of these. `choice`
-- is 'assistant' (agreed to talk to it) or 'people_only'. Earlier choices are carried
-- over from the standing ones.
CREATE TABLE consent_records (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    notice_version  TEXT NOT NULL,
    choice          TEXT NOT NULL CHECK (choice IN ('assistant', 'people_only')),
    decided_at      BIGINT NOT NULL
);
CREATE INDEX consent_records_user ON consent_records (user_id, decided_at);
INSERT INTO consent_records (id, user_id, notice_version, choice, decided_at)
SELECT 'cr_' || user_id, user_id, notice_version,
       CASE WHEN human_only <> 0 THEN 'people_only' ELSE 'assistant' END, decided_at
FROM assistant_preferences;
