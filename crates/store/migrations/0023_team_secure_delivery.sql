-- Teams that handle financial or health data deliver replies securely: the customer
-- is mailed only that there is a reply, with a link to sign in and read it.
ALTER TABLE teams ADD COLUMN secure_delivery BIGINT NOT NULL DEFAULT 0;
