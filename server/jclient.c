/*
 * jclient.c - the network process's end of the judge socketpair.
 *
 * Sends run requests to the privileged supervisor (judgesup.c) and turns
 * its frames (jproto.h) back into callbacks on the loop thread.  The
 * supervisor is a separate process that may die, or send a frame this end
 * cannot follow: then every run in flight completes with an error, Run
 * reports the judge as down, and the server itself goes on.  It must never
 * guess where a frame starts: a broken stream is hung up, not skipped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jclient.h"
#include "log.h"

struct jrun {
	uint64_t id;
	jclient_output_cb *out;
	jclient_test_cb *test;
	jclient_done_cb *done;
	void *ud;
	struct jrun *next;
};

struct jclient {
	uv_pipe_t pipe;
	struct jclient_events ev;
	struct jproto_reader rd;
	uint64_t next_id;
	struct jrun *runs;
	bool down; /* the supervisor is gone, said so, or broke the stream */
	char down_reason[160];
};

static struct jrun *take(struct jclient *jc, uint64_t id, bool remove)
{
	for (struct jrun **p = &jc->runs; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct jrun *r = *p;

			if (remove)
				*p = r->next;
			return r;
		}
	return NULL;
}

static void fail_all(struct jclient *jc, int err, const char *why)
{
	while (jc->runs) {
		struct jrun *r = jc->runs;

		jc->runs = r->next;
		r->done(r->ud, r->id, NULL, err, why);
		free(r);
	}
}

/* The judge is unavailable from now on; tells the owner once. */
static void go_down(struct jclient *jc, const char *event, const char *why)
{
	if (jc->down)
		return;
	jc->down = true;
	snprintf(jc->down_reason, sizeof(jc->down_reason), "judge unavailable: %s", why);
	log_event(LOG_ERROR, event, "reason=%s", jc->down_reason);
	if (jc->ev.state)
		jc->ev.state(jc->ev.ud, jc->down_reason);
}

/*
 * Stops reading and shuts the socket both ways: the supervisor sees the end
 * of its input and exits.  The handle itself is closed by jclient_destroy().
 */
static void hang_up(struct jclient *jc, const char *event, const char *why)
{
	uv_os_fd_t fd;

	uv_read_stop((uv_stream_t *)&jc->pipe);
	if (uv_fileno((uv_handle_t *)&jc->pipe, &fd) == 0)
		shutdown(fd, SHUT_RDWR);
	go_down(jc, event, why);
	fail_all(jc, JPROTO_EDOWN, jc->down_reason);
}

static unsigned count(json_t *msg, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(msg, key));

	return v > 0 && v < 1000000 ? (unsigned)v : 0;
}

static void on_frame(struct jclient *jc, enum jproto_op op, json_t *msg)
{
	uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
	struct jrun *r;

	switch (op) {
	case JPROTO_OP_READY:
		log_event(LOG_INFO, "judge.ready", "cgroup=%s",
			  json_string_value(json_object_get(msg, "cgroup")));
		if (!jc->down && jc->ev.state)
			jc->ev.state(jc->ev.ud, NULL);
		break;
	case JPROTO_OP_STATS:
		if (jc->ev.stats)
			jc->ev.stats(jc->ev.ud, count(msg, "queued"),
				     count(msg, "warm") + count(msg, "running") +
					     count(msg, "starting"));
		break;
	case JPROTO_OP_DOWN: {
		const char *m = json_string_value(json_object_get(msg, "message"));
		int e = (int)json_integer_value(json_object_get(msg, "error"));

		go_down(jc, "judge.down", m ? m : jproto_strerror(e));
		break;
	}
	case JPROTO_OP_OUTPUT: {
		const char *data = json_string_value(json_object_get(msg, "data"));
		const char *stream = json_string_value(json_object_get(msg, "stream"));

		if ((r = take(jc, id, false)) && data && stream && r->out)
			r->out(r->ud, id, stream, data);
		break;
	}
	case JPROTO_OP_TEST: {
		json_t *t = json_object_get(msg, "test"), *idx = json_object_get(msg, "index");

		if ((r = take(jc, id, false)) && r->test && json_is_object(t) &&
		    json_is_integer(idx) && json_integer_value(idx) >= 0)
			r->test(r->ud, id, (size_t)json_integer_value(idx), t);
		break;
	}
	case JPROTO_OP_RESULT: {
		json_t *result = json_object_get(msg, "result");
		int e = (int)json_integer_value(json_object_get(msg, "error"));
		const char *m = json_string_value(json_object_get(msg, "message"));

		if (!(r = take(jc, id, true)))
			break;
		if (json_is_object(result))
			r->done(r->ud, id, result, 0, NULL);
		else {
			e = e < 0 ? e : JPROTO_EJUDGE;
			r->done(r->ud, id, NULL, e, m ? m : jproto_strerror(e));
		}
		free(r);
		break;
	}
	default:
		/* run and cancel go the other way: a supervisor that sends them is broken. */
		hang_up(jc, "judge.bad_frame", jproto_strerror(JPROTO_EBADFRAME));
		break;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct jclient *jc = h->data;
	size_t avail = 0;

	(void)hint;
	b->base = jproto_reader_space(&jc->rd, &avail);
	b->len = b->base ? avail : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct jclient *jc = s->data;
	enum jproto_op op;
	json_t *msg;
	int rc;

	(void)b;
	if (n < 0) {
		hang_up(jc, "judge.lost",
			n == UV_ENOBUFS ? "out of memory reading the supervisor"
					: "the judge supervisor exited");
		return;
	}
	jproto_reader_filled(&jc->rd, (size_t)n);
	while (!jc->down && (rc = jproto_reader_next(&jc->rd, &msg, &op)) != 0) {
		if (rc < 0) {
			hang_up(jc, "judge.bad_frame", jproto_strerror(rc));
			return;
		}
		on_frame(jc, op, msg);
		json_decref(msg);
	}
}

static void on_closed(uv_handle_t *h)
{
	struct jclient *jc = h->data;

	jproto_reader_finish(&jc->rd);
	free(jc);
}

int jclient_create(uv_loop_t *loop, int fd, const struct jclient_events *events,
		   struct jclient **out)
{
	struct jclient *jc = calloc(1, sizeof(*jc));

	if (!jc) {
		close(fd);
		return JPROTO_ENOMEM;
	}
	if (events)
		jc->ev = *events;
	jproto_reader_init(&jc->rd);
	if (uv_pipe_init(loop, &jc->pipe, 0)) {
		close(fd);
		free(jc);
		return JPROTO_EDOWN;
	}
	jc->pipe.data = jc;
	if (uv_pipe_open(&jc->pipe, fd)) {
		close(fd);
		goto err_close;
	}
	if (uv_read_start((uv_stream_t *)&jc->pipe, on_alloc, on_read))
		goto err_close;
	*out = jc;
	return 0;

err_close:
	uv_close((uv_handle_t *)&jc->pipe, on_closed);
	return JPROTO_EDOWN;
}

void jclient_destroy(struct jclient *jc)
{
	if (!jc)
		return;
	fail_all(jc, JPROTO_ESHUTDOWN, jproto_strerror(JPROTO_ESHUTDOWN));
	uv_close((uv_handle_t *)&jc->pipe, on_closed);
}

bool jclient_up(const struct jclient *jc)
{
	return jc && !jc->down;
}

struct wreq {
	uv_write_t req;
	char *data;
};

static void on_written(uv_write_t *w, int status)
{
	struct wreq *wr = (struct wreq *)w;

	(void)status;
	free(wr->data);
	free(wr);
}

static int send_frame(struct jclient *jc, enum jproto_op op, json_t *body)
{
	struct wreq *wr = malloc(sizeof(*wr));
	size_t n = 0;
	uv_buf_t b;

	if (!wr || !(wr->data = jproto_frame(op, body, &n))) {
		if (!wr)
			json_decref(body);
		free(wr);
		return JPROTO_ENOMEM;
	}
	b = uv_buf_init(wr->data, (unsigned)n);
	if (uv_write(&wr->req, (uv_stream_t *)&jc->pipe, &b, 1, on_written)) {
		free(wr->data);
		free(wr);
		return JPROTO_EDOWN;
	}
	return 0;
}

int jclient_run(struct jclient *jc, const char *code, size_t code_len, jclient_output_cb *out,
		jclient_done_cb *done, void *ud, uint64_t *run)
{
	json_t *req = json_pack("{s:s%}", "code", code, code_len);

	if (!req)
		return JPROTO_ENOMEM;
	return jclient_run_tests(jc, req, out, NULL, done, ud, run);
}

int jclient_run_tests(struct jclient *jc, json_t *req, jclient_output_cb *out,
		      jclient_test_cb *test, jclient_done_cb *done, void *ud, uint64_t *run)
{
	struct jrun *r;
	int rc;

	if (!req)
		return JPROTO_ENOMEM;
	if (!jclient_up(jc)) {
		json_decref(req);
		return JPROTO_EDOWN;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(req);
		return JPROTO_ENOMEM;
	}
	r->id = ++jc->next_id;
	r->out = out;
	r->test = test;
	r->done = done;
	r->ud = ud;
	json_object_set_new(req, "id", json_integer((json_int_t)r->id));
	rc = send_frame(jc, JPROTO_OP_RUN, req);
	if (rc) {
		free(r);
		return rc;
	}
	r->next = jc->runs;
	jc->runs = r;
	*run = r->id;
	return 0;
}

void jclient_forget(struct jclient *jc, uint64_t run)
{
	struct jrun *r = take(jc, run, true);

	if (!r)
		return;
	free(r);
	if (jclient_up(jc))
		send_frame(jc, JPROTO_OP_CANCEL, json_pack("{s:I}", "id", (json_int_t)run));
}
