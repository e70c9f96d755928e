-- A customer account merged into another: closed for good (disabled), its tickets
-- moved, and mail from its address taken as the survivor's.
ALTER TABLE users ADD COLUMN merged_into TEXT REFERENCES users(id);
