-- Root rotation (`palisade keys rotate-root`): a new root for every derived key (blind
-- indexes, search terms, reply tokens, audit and backup signing), the wrapping key
-- unchanged. Each root is named by an id that reveals nothing of it. While a rotation
-- is under way no node serves: one with the old root stops when it sees the row, and
-- every node is refused at start until it finishes. Afterwards a node with the old root
-- is refused for good. What the rotation keeps of the old root (its blind-index and
-- reply-token keys, never the root) is stored as data keys, `rk_index_<old id>` and,
-- for a grace period, `rk_reply_<old id>_<replies_until>`, wrapped like every other.
CREATE TABLE root_rotations (
    new_root_id    TEXT PRIMARY KEY,
    old_root_id    TEXT NOT NULL UNIQUE,
    started_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    -- Reply addresses minted under the old root are accepted until then (ms).
    replies_until  BIGINT NOT NULL,
    -- 1 while under way, NULL once finished: one at a time.
    under_way      SMALLINT UNIQUE
);
