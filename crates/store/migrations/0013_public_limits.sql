-- Request counts per key (surface and source) per fixed window, shared by every node:
-- limits on public surfaces hold however many nodes serve them.
CREATE TABLE rate_windows (
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_windows_start ON rate_windows (window_start);

-- Security alerts for administrators: what crossed a threshold, from where. One per
-- kind, source and window (dedupe_key), so a flood raises one alert, not a flood.
CREATE TABLE security_alerts (
    id          TEXT PRIMARY KEY,
    raised_at   BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL UNIQUE
);
CREATE INDEX security_alerts_raised ON security_alerts (raised_at);
