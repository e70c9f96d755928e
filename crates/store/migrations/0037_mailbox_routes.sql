-- The team each support address delivers to, as changed on the Teams page. An address
-- absent here goes to the team the configuration file names for it; the addresses
-- themselves (with their DNS records and keys) stay in the file.
CREATE TABLE mailbox_routes (
    address     TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id),
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
