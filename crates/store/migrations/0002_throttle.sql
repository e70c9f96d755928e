-- Failed-attempt counters for sign-in throttling, shared by every node. Keys are
-- "account:<email blind index>" (also for unknown addresses, so a lockout says nothing
-- about whether an account exists) and "ip:<address>".
CREATE TABLE throttle (
    key              TEXT PRIMARY KEY,
    failures         BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL,
    blocked_until    BIGINT NOT NULL
);
