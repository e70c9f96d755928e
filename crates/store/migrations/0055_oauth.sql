-- OAuth 2.0: applications administrators registered (clients), what people allowed
-- them (grants), the one-time codes of the authorization-code flow and the tokens
-- issued. Secrets, codes and tokens are kept as SHA-256 hashes of high-entropy values
-- only. A grant is one chain of refresh tokens: a refresh token used twice revokes its
-- grant, and with it every token of the chain.
CREATE TABLE oauth_clients (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    confidential    BIGINT NOT NULL,
    secret_hash     TEXT,
    redirect_uris   TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    act_as          TEXT REFERENCES users(id),
    enabled         BIGINT NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE oauth_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id),
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at  BIGINT,
    revoked_why TEXT
);
CREATE INDEX oauth_grants_user ON oauth_grants (user_id, created_at);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id);

CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

-- `kind`: access or refresh. `grant_id` is NULL for a client-credentials token (it
-- acts as the client's account, for nobody else).
CREATE TABLE oauth_tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    grant_id    TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id),
    scopes      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);
