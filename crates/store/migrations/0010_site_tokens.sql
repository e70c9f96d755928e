-- Identifiers of single-use tokens already accepted (the `jti` of tokens the
-- organisation's site issues for the assistant), as keyed hashes, kept until the token
-- would have expired: a replayed token is refused on every node.
CREATE TABLE used_token_ids (
    id_hash     TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX used_token_ids_expiry ON used_token_ids (expires_at);
