-- OpenID Connect sign-in.
-- A flow in progress: keyed by the hash of its `state`, bound to the browser that
-- started it (hash of a cookie secret); the PKCE verifier and nonce are sealed with the
-- organisation key. A row is deleted when the provider's answer arrives, so it works once.
CREATE TABLE oidc_flows (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    secrets_enc   BYTEA NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oidc_flows_expiry ON oidc_flows (expires_at);

-- Which local account an identity at a provider is. `subject_index` is a keyed hash of
-- issuer and subject, so the provider's identifiers are not stored in clear.
CREATE TABLE oidc_links (
    subject_index  TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id),
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX oidc_links_user ON oidc_links (user_id);
