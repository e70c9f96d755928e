-- A team may let its agents' notification mail carry what the customer or colleague
-- wrote and who the customer is; off by default (number, subject and link only).
ALTER TABLE teams ADD COLUMN notifications_with_text BIGINT NOT NULL DEFAULT 0;
