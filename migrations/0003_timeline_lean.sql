-- 0003_timeline_lean.sql: timeline_events keeps one index, and no per-row
-- foreign-key check.
--
-- timeline_events takes every keystroke batch of every room (thousands of
-- rows a second under load), and each row paid for two things nobody used
-- at that rate: the (room, at) index, which no query reads (scrubbing by
-- time uses the server's in-memory index, and times never go backwards
-- within a room, so the newest time is the time of the highest seq), and
-- the foreign key to rooms, whose check locks the room's row once per
-- inserted event.  Measured on 1,000-row batches: 11.4 ms with both,
-- 7.1 ms without the index, 5.2-6.8 ms without the foreign key.
--
-- The server inserts only events of rooms that exist (its INSERT checks
-- rooms in the same statement), and a trigger keeps what ON DELETE CASCADE
-- did: deleting a room deletes its events.
DROP INDEX timeline_events_room_at;

ALTER TABLE timeline_events DROP CONSTRAINT timeline_events_room_fkey;

CREATE FUNCTION timeline_events_drop_room() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM timeline_events WHERE room = OLD.id;
	RETURN OLD;
END
$$;

CREATE TRIGGER rooms_drop_timeline AFTER DELETE ON rooms
	FOR EACH ROW EXECUTE FUNCTION timeline_events_drop_room();
