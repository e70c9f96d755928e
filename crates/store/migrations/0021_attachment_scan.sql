-- Every file is scanned for malware before anyone may download it. A file starts
-- `pending` (files stored before scanning existed too, so they are scanned when a
-- scanner is configured), becomes `clean` or `infected` (the signature in
-- `scan_finding`); an infected file stays sealed and is never served.
ALTER TABLE attachments ADD COLUMN scan_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE attachments ADD COLUMN scan_finding TEXT;
ALTER TABLE attachments ADD COLUMN scanned_at BIGINT;
CREATE INDEX attachments_scan_pending ON attachments (scan_state, created_at);
