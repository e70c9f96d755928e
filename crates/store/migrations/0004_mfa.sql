-- Multi-factor authentication.
-- A session's `stage` says what it may do: 'full'; 'second_factor' (password checked,
-- a second factor still owed); 'enrol' (staff without a factor: may only enrol one).
-- `auth_at` is when the holder last proved who they are (sign-in or step-up).
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sessions ADD COLUMN auth_at BIGINT NOT NULL DEFAULT 0;

-- One authenticator app per account. `confirmed_at` is NULL while enrolment waits for
-- a first code; `last_step` is the newest accepted time step, so a code works once.
CREATE TABLE mfa_totp (
    user_id       TEXT PRIMARY KEY REFERENCES users(id),
    secret_enc    BYTEA NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- Single-use recovery codes, stored as keyed hashes.
CREATE TABLE recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Passkeys and security keys (WebAuthn). The credential (public key, counter) is
-- sealed; `credential_id` is the authenticator's id, base64url.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    credential_id  TEXT NOT NULL UNIQUE,
    passkey_enc    BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- In-flight WebAuthn ceremonies: the server-side challenge state, bound to the session
-- that started it, usable once.
CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state_enc   BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL
);
