-- 0002_agents.sql: which seat owns each CRDT agent id a room handed out.
--
-- The server accepts an update only when every operation in it was
-- authored by an agent of the sender's seat; offline edits arrive under
-- the agent of an earlier connection, possibly from before a restart, so
-- the mapping must outlive the process.  room_docs.seq records how far the
-- timeline the snapshot covers.
CREATE TABLE room_agents (
	room  text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	agent bigint NOT NULL CHECK (agent > 0 AND agent < 4294967295),
	seat  text NOT NULL CHECK (seat IN ('interviewer', 'candidate', 'observer')),
	PRIMARY KEY (room, agent)
);

ALTER TABLE room_docs ADD COLUMN seq bigint NOT NULL DEFAULT 0;
