-- Settings an administrator changes from the web without a restart. A setting absent
-- here takes the configuration file's value (or the built-in default); what must not
-- be changeable from the web (keys, listeners, relays, trusted proxies) is never here.
CREATE TABLE desk_settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
