/*
 * room-edit.c - CRDT updates in a room: checked, merged, recorded,
 * forwarded and acknowledged.
 *
 * An update is refused before it touches the document unless every
 * operation in it belongs to an agent of the sender's seat and the
 * document and timeline can take it; once merged it is in the timeline
 * (reserved before the merge, so nothing can fail between the two),
 * forwarded to the room's other connections at once, and acknowledged to
 * its sender only when its event is durable, in the order updates came.
 * Operations that wait in the document for missing dependencies are
 * forwarded, recorded and acknowledged when the update that brings them
 * arrives.  Part of the room module (room-internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "room-internal.h"
#include "room.h"
#include "store.h"
#include "timeline.h"

/* Sends the acks whose events are durable, in the order the edits came. */
static void send_acks(struct room *r)
{
	uint64_t durable = r->tl ? timeline_durable_seq(r->tl) : UINT64_MAX;

	if (r->tl && !r->srv->timeline)
		return; /* shutting down: nothing more becomes durable here */

	while (r->acks && r->acks->seq <= durable) {
		struct pending_ack *a = r->acks;

		r->acks = a->next;
		if (!r->acks)
			r->acks_tail = NULL;
		if (a->c) {
			struct crdt_version v = { .v = a->v, .len = a->n, .cap = a->n };

			conn_ack(a->c, &v);
		}
		free(a);
	}
}

/* Holds c's ack of ver (at most 8 agents) until the room's events up to seq are durable. */
static void queue_ack(struct room *r, struct conn *c, uint64_t seq, const struct crdt_version *ver)
{
	struct pending_ack *a = malloc(sizeof(*a));

	if (!a)
		return; /* no ack: the client resends, which is harmless */
	a->next = NULL;
	a->seq = seq;
	a->c = c;
	a->n = ver->len < 8 ? ver->len : 8;
	memcpy(a->v, ver->v, a->n * sizeof(a->v[0]));
	if (r->acks_tail)
		r->acks_tail->next = a;
	else
		r->acks = a;
	r->acks_tail = a;
	send_acks(r);
}

void room_timeline_durable(struct server *srv, const char *room, uint64_t seq)
{
	struct room *r = room_find(srv, room);

	(void)seq;
	if (r)
		send_acks(r);
}

/* An update read at recv_us goes to every other connection of the room. */
static void fan_out(struct room *r, const struct conn *from, const uint8_t *data, size_t len,
		    uint64_t recv_us)
{
	for (struct conn *o = r->conns; o; o = o->room_next)
		if (o != from)
			conn_send_fanout(o, data, len, recv_us);
}

bool room__insert_starter(struct room *r, const char *starter)
{
	struct crdt_version none, ver;
	struct timeline_resv resv = { 0 };
	struct crdt_buf buf;
	struct crdt_doc *tmp;
	uint32_t agent = r->next_agent;
	bool done = false;

	if (!starter || !starter[0] || crdt_len(r->doc) || crdt_pending(r->doc) ||
	    agent == UINT32_MAX || strlen(starter) > r->srv->lim.max_doc)
		return false;
	if ((r->tl && r->srv->timeline && timeline_room_full(r->tl)) ||
	    room__add_owner(r, agent, SEAT_INTERVIEWER))
		return false;
	store_add_agent(r->srv->db, r->id, agent, SEAT_INTERVIEWER);
	crdt_version_init(&none, NULL);
	crdt_version_init(&ver, NULL);
	crdt_buf_init(&buf, NULL);
	/* The update is made in a document of its own, then merged like a client's. */
	tmp = crdt_doc_create(NULL);
	if (!tmp || crdt_insert(tmp, agent, 0, starter, strlen(starter)) ||
	    crdt_encode_since(tmp, &none, &buf) || crdt_version_set(&ver, agent, UINT32_MAX))
		goto out;
	if (r->tl && r->srv->timeline &&
	    timeline_reserve(r->tl, "edit", "server", buf.data, buf.len, ver.v, ver.len, &resv))
		goto out;
	if (crdt_apply(r->doc, buf.data, buf.len))
		goto out;
	crdt_version_set(&ver, agent, crdt_doc_next(r->doc, agent));
	if (resv.tr)
		timeline_commit(&resv, ver.v, ver.len);
	room__mark_dirty(r);
	fan_out(r, NULL, buf.data, buf.len, server_turn_us(r->srv));
	done = true;
out:
	timeline_cancel(&resv);
	crdt_doc_destroy(tmp);
	crdt_buf_finish(&buf);
	crdt_version_finish(&none);
	crdt_version_finish(&ver);
	return done;
}

static bool is_author(const struct crdt_update_info *info, uint32_t agent)
{
	for (size_t i = 0; i < info->nauthors && i < 8; i++)
		if (info->authors[i] == agent)
			return true;
	return false;
}

/*
 * An update from `from` released operations that waited in the document
 * for it (docs/protocol.md, "Editing"): everyone, the sender included (it
 * may lack what was released: they were waiting for its operations), gets
 * one update of everything the document gained since vb.
 */
static void forward_released(struct room *r, const struct crdt_version *vb, uint64_t recv_us)
{
	struct crdt_buf buf;

	crdt_buf_init(&buf, NULL);
	if (crdt_encode_since(r->doc, vb, &buf) == 0) {
		for (struct conn *o = r->conns; o; o = o->room_next)
			conn_send_fanout(o, buf.data, buf.len, recv_us);
	} else {
		/* Out of memory: each connection gets a catch-up once memory allows. */
		for (struct conn *o = r->conns; o; o = o->room_next)
			conn_close(o, PROTO_CLOSE_GOING_AWAY, "out of memory");
	}
	crdt_buf_finish(&buf);
}

/*
 * The released operations in ver (entries of agents that are not the
 * update's authors) are acknowledged, once seq is durable, to the
 * connection now holding the seat that owns them: its client sent them
 * and still waits for the ack.
 */
static void ack_released(struct room *r, const struct crdt_update_info *info,
			 const struct crdt_version *ver, uint64_t seq)
{
	for (int k = 0; k < 2; k++) {
		struct conn *to = r->seat_conn[k];
		struct crdt_version_entry e[8];
		struct crdt_version v = { .v = e, .len = 0, .cap = 8 };

		if (!to)
			continue;
		for (size_t i = 0; i < ver->len; i++) {
			if (is_author(info, ver->v[i].agent) ||
			    room__seat_index(room__owner_of(r, ver->v[i].agent)) != k)
				continue;
			e[v.len++] = ver->v[i];
			if (v.len == 8) {
				queue_ack(r, to, seq, &v);
				v.len = 0;
			}
		}
		if (v.len)
			queue_ack(r, to, seq, &v);
	}
}

/* Refuses an update: counted, and the sender is told why. */
static void reject(struct conn *c, enum proto_err e, const char *message, unsigned retry_ms)
{
	c->srv->metrics.updates_rejected++;
	conn_send_error(c, NULL, e, message, retry_ms);
}

void room_on_update(struct conn *c, const uint8_t *data, size_t len)
{
	struct room *r = c->room;
	uint64_t recv_us = server_turn_us(r->srv);
	struct crdt_update_info info;
	struct crdt_version ver, vb;
	struct timeline_resv resv = { 0 };
	uint32_t before[8];
	bool changed = false, released = false, may_release;
	size_t pending;
	uint64_t seq;
	int rc;

	if (!((unsigned)c->seat & SEATS_EDIT)) { /* observers are read-only */
		reject(c, PERR_FORBIDDEN, "observers cannot edit", 0);
		return;
	}
	rc = crdt_update_info(data, len, &info, NULL);
	if (rc) {
		reject(c, PERR_BAD_UPDATE, crdt_strerror(rc), 0);
		return;
	}
	for (size_t i = 0; i < info.nauthors; i++) {
		if (i >= 8 || room__owner_of(r, info.authors[i]) != c->seat) {
			reject(c, PERR_BAD_UPDATE, "the update holds operations of another agent",
			       0);
			log_event(LOG_WARN, "room.forged", "room=%s conn=%llu", r->id,
				  (unsigned long long)c->id);
			return;
		}
	}
#ifdef TANDEM_TRANSPORT_ONLY
	/*
	 * bench/: tandem-transport, the transport alone (BENCHMARKS.md, "Server
	 * load"): the update, checked as far as this, goes to the peer; nothing
	 * is merged, recorded or acknowledged.  Never built into tandem.
	 */
	fan_out(r, c, data, len, recv_us);
	return;
#endif
	if (crdt_len_bytes(r->doc) + info.ins_bytes > r->srv->lim.max_doc) {
		reject(c, PERR_DOC_TOO_LARGE, NULL, 0);
		return;
	}
	if (r->tl && r->srv->timeline && timeline_room_full(r->tl)) {
		/* Its edits can no longer be recorded, now or later: refused before merging. */
		reject(c, PERR_ROOM_FULL, NULL, 0);
		return;
	}
	if (timeline_overloaded(r->srv->timeline)) {
		/* Better refused, and resent by the client later, than acknowledged and lost. */
		reject(c, PERR_OVERLOADED, NULL, 1000);
		return;
	}
	/*
	 * The sender's agents (at most 8: checked above) before the merge, and
	 * their entries in ver made now, so that filling them in after the
	 * merge cannot fail.  While operations wait in the document for
	 * missing dependencies, this update may bring those and release them:
	 * then every agent of the room gets an entry too (the released ones
	 * must be in this event's version entries, or text?at and the scrub
	 * index would never see them), and the version before the merge is
	 * kept to tell what was released.
	 */
	crdt_version_init(&ver, NULL);
	crdt_version_init(&vb, NULL);
	for (size_t i = 0; i < info.nauthors; i++) {
		before[i] = crdt_doc_next(r->doc, info.authors[i]);
		if (crdt_version_set(&ver, info.authors[i], UINT32_MAX)) {
			reject(c, PERR_INTERNAL, NULL, 0);
			goto out;
		}
	}
	may_release = crdt_pending(r->doc) > 0;
	if (may_release) {
		if (crdt_doc_version(r->doc, &vb) || crdt_version_reserve(&ver, r->nowners)) {
			reject(c, PERR_INTERNAL, NULL, 0);
			goto out;
		}
		for (size_t i = 0; i < r->nowners; i++)
			if (!crdt_version_get(&ver, r->owners[i].agent))
				(void)crdt_version_set(&ver, r->owners[i].agent, UINT32_MAX);
	}
	/*
	 * Its timeline event made ready before the merge: an edit the document
	 * holds must be in the timeline (the document is rebuilt from it after
	 * a restart), so nothing may fail between the two.
	 */
	if (r->tl && r->srv->timeline) {
		rc = timeline_reserve(r->tl, "edit", proto_seat_name(c->seat), data, len, ver.v,
				      ver.len, &resv);
		if (rc) {
			log_event(LOG_ERROR, "timeline.append", "room=%s kind=edit error=%s", r->id,
				  timeline_strerror(rc));
			if (rc == TIMELINE_E_LIMIT)
				reject(c, PERR_ROOM_FULL, NULL, 0);
			else
				reject(c, PERR_INTERNAL, "edit not recorded; resend it", 1000);
			goto out;
		}
	}
	pending = crdt_pending(r->doc);
	rc = crdt_apply(r->doc, data, len);
	if (rc) {
		reject(c, PERR_BAD_UPDATE, crdt_strerror(rc), 0);
		if (rc != CRDT_ENOMEM && rc != CRDT_ELIMIT)
			goto out;
	}
	/* Ops kept pending (dependencies missing) are news too: the timeline must hold them. */
	if (crdt_pending(r->doc) > pending)
		changed = true;
	/*
	 * The sender's agents as far as the document now has them: both the
	 * ack and the edit event's version entries.  Other agents keep their
	 * entry only if operations of theirs were released (in place, or a
	 * removal: the entries left are some of those reserved, in order).
	 */
	for (size_t i = 0; i < info.nauthors; i++) {
		uint32_t n = crdt_doc_next(r->doc, info.authors[i]);

		crdt_version_set(&ver, info.authors[i], n);
		if (n > before[i])
			changed = true;
	}
	for (size_t i = 0; may_release && i < r->nowners; i++) {
		uint32_t a = r->owners[i].agent, n = crdt_doc_next(r->doc, a);

		if (is_author(&info, a))
			continue;
		if (n > crdt_version_get(&vb, a)) {
			crdt_version_set(&ver, a, n);
			released = changed = true;
		} else {
			crdt_version_set(&ver, a, 0);
		}
	}
	if (changed) {
		room__mark_dirty(r);
		r->srv->metrics.updates++;
		if (resv.tr)
			timeline_commit(&resv, ver.v, ver.len);
		if (released)
			forward_released(r, &vb, recv_us);
		else
			fan_out(r, c, data, len, recv_us);
	}
	/*
	 * Acknowledge once every event so far is durable: this edit's own, or
	 * for ops the room already had, whichever event brought them.  The
	 * released operations are acknowledged to their seats then too.
	 */
	seq = r->tl ? timeline_last_seq(r->tl) : 0;
	if (released)
		ack_released(r, &info, &ver, seq);
	for (size_t i = 0; i < ver.len;)
		if (is_author(&info, ver.v[i].agent))
			i++;
		else
			crdt_version_set(&ver, ver.v[i].agent, 0);
	queue_ack(r, c, seq, &ver);
out:
	timeline_cancel(&resv); /* a reservation not used */
	crdt_version_finish(&ver);
	crdt_version_finish(&vb);
}

void room_drained(struct conn *c)
{
	if (c->room && room_doc_version(c->room, &c->delivered))
		c->delivered.len = 0; /* unknown: a catch-up would send everything */
}

void room_resync(struct conn *c)
{
	struct crdt_buf buf;

	if (!c->room)
		return;
	crdt_buf_init(&buf, NULL);
	if (crdt_encode_since(c->room->doc, &c->delivered, &buf) == 0)
		conn_send_catchup(c, buf.data, buf.len);
	else
		conn_close(c, PROTO_CLOSE_GOING_AWAY, "out of memory");
	crdt_buf_finish(&buf);
}
