-- A non-personal field value in lower case (Unicode, folded by Palisade rather than by
-- the database, whose LOWER differs between SQLite and PostgreSQL), so a word of a
-- search matches it in any case. NULL for personal values, which match whole only.
ALTER TABLE ticket_field_values ADD COLUMN value_fold TEXT;
CREATE INDEX ticket_field_values_fold ON ticket_field_values (field_id, value_fold);
