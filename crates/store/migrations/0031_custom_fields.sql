-- Fields administrators add to tickets. `kind` and `personal` are fixed at creation:
-- values already written were validated and sealed for them.
CREATE TABLE custom_fields (
    id                TEXT PRIMARY KEY,
    field_key         TEXT NOT NULL UNIQUE,
    label             TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'dropdown', 'checkbox')),
    options           TEXT NOT NULL DEFAULT '[]',
    required          BIGINT NOT NULL DEFAULT 0,
    customer_visible  BIGINT NOT NULL DEFAULT 0,
    personal          BIGINT NOT NULL DEFAULT 0,
    position          BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    archived_at       BIGINT
);

-- A ticket's value of a field. `value_key` is what filters compare: the value itself,
-- or for a personal field its keyed blind index, the value then sealed in `value_enc`
-- under the ticket's data key.
CREATE TABLE ticket_field_values (
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    field_id    TEXT NOT NULL REFERENCES custom_fields(id),
    value_key   TEXT NOT NULL,
    value_enc   BYTEA,
    PRIMARY KEY (ticket_id, field_id)
);
CREATE INDEX ticket_field_values_match ON ticket_field_values (field_id, value_key);
