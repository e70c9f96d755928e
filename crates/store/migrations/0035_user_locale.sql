-- The language a person chose for the pages (a tag Palisade speaks, e.g. "de");
-- NULL: their browser's Accept-Language decides.
ALTER TABLE users ADD COLUMN locale TEXT;
