-- Ticket numbers on PostgreSQL come from a sequence rather than the `ticket_number`
-- counter row. The row was taken by `UPDATE … RETURNING` at the start of every create
-- and stayed locked until commit, so creates queued behind one another for their whole
-- transaction (pg_stat_statements: 34 ms mean lock wait at 32 concurrent creates). A
-- sequence hands out numbers without a lock; a rolled-back create leaves a gap, which
-- is harmless: numbers are for people to quote, never references (the id is).
CREATE SEQUENCE ticket_numbers AS BIGINT MINVALUE 1;
SELECT setval('ticket_numbers', GREATEST(value, 1), value > 0) FROM counters WHERE name = 'ticket_number';
