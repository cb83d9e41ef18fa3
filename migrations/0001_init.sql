-- 0001_init.sql: the first schema of Tandem.
--
-- Applied by `tandem migrate` inside one transaction (do not add BEGIN or
-- COMMIT here).  PostgreSQL is the durable record: rooms, a mirror of
-- presence for after a restart, the timeline of every event, and the
-- latest document snapshot of each room.

-- A room: created through POST /api/rooms, closed through
-- POST /api/rooms/:id/close.  Tokens carry the room's token_epoch when
-- they were issued ("ep" claim); closing a room sets closed_at and bumps
-- token_epoch, once, so every earlier token is revoked (the server checks
-- the epoch: see docs/protocol.md for what a revoked token may still do).
CREATE TABLE rooms (
	id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
	problem     text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	closed_at   timestamptz,
	token_epoch bigint NOT NULL DEFAULT 0,
	notes       text NOT NULL DEFAULT ''
);

-- Durable mirror of presence (Redis holds the live state): one row per
-- member key of a room (a seat, or seat:conn for observers).
CREATE TABLE room_members (
	room       text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seat       text NOT NULL,
	name       text NOT NULL DEFAULT '',
	state      text NOT NULL
	           CHECK (state IN ('PRESENT', 'DISCONNECTED', 'LEFT', 'COMPLETED')),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (room, seat)
);

-- The timeline: every event of a room with the server's receive time and
-- the room's own sequence number (assigned by the server, not the Redis
-- stream id), so a batch flushed twice is written once
-- (INSERT ... ON CONFLICT DO NOTHING).  JSON events use payload; CRDT op
-- batches carry their encoded bytes in ops.
CREATE TABLE timeline_events (
	room    text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seq     bigint NOT NULL CHECK (seq >= 0),
	at      timestamptz NOT NULL,
	kind    text NOT NULL,
	actor   text,
	payload jsonb,
	ops     bytea,
	PRIMARY KEY (room, seq)
);

-- Replay scrubs by time: find the events up to a moment.
CREATE INDEX timeline_events_room_at ON timeline_events (room, at);

-- The latest snapshot of each room's document (crdt_encode_doc) and its
-- version vector, so a restart does not replay the whole timeline.
CREATE TABLE room_docs (
	room       text PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
	snapshot   bytea NOT NULL,
	version    bytea NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
