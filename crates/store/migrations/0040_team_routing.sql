-- How a team's new tickets reach its agents: assigned automatically (`round_robin`,
-- `least_open`, or `off`), at most `assign_cap` unsolved tickets per agent, the last
-- agent given one remembered for the round. And whether the requester of a new ticket
-- is sent an acknowledgement (on unless turned off), in the team's own words per
-- language (JSON: language tag to text) or the built-in ones.
ALTER TABLE teams ADD COLUMN auto_assign TEXT NOT NULL DEFAULT 'off';
ALTER TABLE teams ADD COLUMN assign_cap BIGINT;
ALTER TABLE teams ADD COLUMN assign_cursor TEXT;
ALTER TABLE teams ADD COLUMN acknowledge BIGINT NOT NULL DEFAULT 1;
ALTER TABLE teams ADD COLUMN ack_texts TEXT NOT NULL DEFAULT '{}';
-- An agent who is away is given no tickets automatically.
ALTER TABLE users ADD COLUMN away BIGINT NOT NULL DEFAULT 0;
