-- Personal API tokens for integrations. Only a SHA-256 hash of each token is stored.
-- `scopes` is a space-separated list such as "tickets:read tickets:write".
CREATE TABLE api_tokens (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    scopes         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    last_used_at   BIGINT,
    last_used_ip   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
