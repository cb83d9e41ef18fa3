/*
 * jclient.c - the network process's end of the judge socketpair.
 *
 * Sends run requests to the privileged supervisor (judgesup.c) and turns
 * its frames back into callbacks on the loop thread.  The supervisor is a
 * separate process that may die: then every run in flight completes with
 * an error and Run reports the judge as down; the server itself goes on.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "jclient.h"
#include "log.h"
#include "server.h"

#define FRAME_MAX (16u << 20)

struct jrun {
	uint64_t id;
	jclient_output_cb *out;
	jclient_test_cb *test;
	jclient_done_cb *done;
	void *ud;
	struct jrun *next;
};

struct jclient {
	struct server *srv;
	uv_pipe_t pipe;
	char *buf;
	size_t len, cap;
	uint64_t next_id;
	struct jrun *runs;
	bool ready, closed;
	char down_reason[128];
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

static void fail_all(struct jclient *jc, const char *why)
{
	while (jc->runs) {
		struct jrun *r = jc->runs;

		jc->runs = r->next;
		r->done(r->ud, r->id, NULL, why);
		free(r);
	}
}

static void on_frame(struct jclient *jc, const char *data, size_t len)
{
	json_t *msg = json_loadb(data, len, 0, NULL);
	const char *op = json_string_value(json_object_get(msg, "op"));
	uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
	struct jrun *r;

	if (!op) {
		json_decref(msg);
		return;
	}
	if (strcmp(op, "ready") == 0) {
		jc->ready = true;
		log_event(LOG_INFO, "judge.ready", "cgroup=%s",
			  json_string_value(json_object_get(msg, "cgroup")));
	} else if (strcmp(op, "stats") == 0) {
		jc->srv->metrics.judge_queued =
			(uint64_t)json_integer_value(json_object_get(msg, "queued"));
		jc->srv->metrics.judge_pool =
			(uint64_t)(json_integer_value(json_object_get(msg, "warm")) +
				   json_integer_value(json_object_get(msg, "running")) +
				   json_integer_value(json_object_get(msg, "starting")));
	} else if (strcmp(op, "down") == 0) {
		snprintf(jc->down_reason, sizeof(jc->down_reason), "judge unavailable: %s",
			 json_string_value(json_object_get(msg, "error")));
		jc->srv->judge_down = jc->down_reason;
		log_event(LOG_ERROR, "judge.down", "reason=%s", jc->down_reason);
	} else if (strcmp(op, "output") == 0 && (r = take(jc, id, false))) {
		const char *data_s = json_string_value(json_object_get(msg, "data"));
		const char *stream = json_string_value(json_object_get(msg, "stream"));

		if (data_s && stream && r->out)
			r->out(r->ud, id, stream, data_s);
	} else if (strcmp(op, "test") == 0 && (r = take(jc, id, false))) {
		json_t *t = json_object_get(msg, "test");
		json_t *idx = json_object_get(msg, "index");
		if (r->test && json_is_object(t) && json_is_integer(idx) &&
		    json_integer_value(idx) >= 0)
			r->test(r->ud, id, (size_t)json_integer_value(idx), t);
	} else if (strcmp(op, "result") == 0 && (r = take(jc, id, true))) {
		r->done(r->ud, id, json_object_get(msg, "result"),
			json_string_value(json_object_get(msg, "error")));
		free(r);
	}
	json_decref(msg);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct jclient *jc = h->data;

	(void)hint;
	if (jc->cap - jc->len < 65536) {
		char *n = realloc(jc->buf, jc->cap + 65536);

		if (!n) {
			b->base = NULL;
			b->len = 0;
			return;
		}
		jc->buf = n;
		jc->cap += 65536;
	}
	b->base = jc->buf + jc->len;
	b->len = jc->cap - jc->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct jclient *jc = s->data;

	(void)b;
	if (n < 0) {
		log_event(LOG_ERROR, "judge.lost", "msg=%s", "the judge supervisor exited");
		snprintf(jc->down_reason, sizeof(jc->down_reason), "the judge supervisor exited");
		jc->srv->judge_down = jc->down_reason;
		jc->closed = true;
		uv_read_stop(s);
		fail_all(jc, jc->down_reason);
		return;
	}
	jc->len += (size_t)n;
	while (jc->len >= 4) {
		uint32_t flen;

		memcpy(&flen, jc->buf, 4);
		flen = ntohl(flen);
		if (flen > FRAME_MAX) {
			jc->len = 0;
			return;
		}
		if (jc->len < 4 + (size_t)flen)
			break;
		on_frame(jc, jc->buf + 4, flen);
		memmove(jc->buf, jc->buf + 4 + flen, jc->len - 4 - flen);
		jc->len -= 4 + flen;
	}
}

int jclient_create(struct server *srv, int fd, struct jclient **out)
{
	struct jclient *jc = calloc(1, sizeof(*jc));

	if (!jc)
		return -1;
	jc->srv = srv;
	if (uv_pipe_init(srv->loop, &jc->pipe, 0) || uv_pipe_open(&jc->pipe, fd)) {
		free(jc);
		return -1;
	}
	jc->pipe.data = jc;
	uv_read_start((uv_stream_t *)&jc->pipe, on_alloc, on_read);
	*out = jc;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct jclient *jc = h->data;

	free(jc->buf);
	free(jc);
}

void jclient_destroy(struct jclient *jc)
{
	if (!jc)
		return;
	fail_all(jc, "server shutting down");
	uv_close((uv_handle_t *)&jc->pipe, on_closed);
}

bool jclient_up(const struct jclient *jc)
{
	return jc && !jc->closed && !jc->srv->judge_down;
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

static int send_frame(struct jclient *jc, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	struct wreq *wr;
	uint32_t len;
	size_t n;
	uv_buf_t b;

	json_decref(msg);
	if (!s)
		return JCLIENT_EDOWN;
	n = strlen(s);
	wr = malloc(sizeof(*wr));
	if (!wr || !(wr->data = malloc(n + 4))) {
		free(wr);
		free(s);
		return JCLIENT_EDOWN;
	}
	len = htonl((uint32_t)n);
	memcpy(wr->data, &len, 4);
	memcpy(wr->data + 4, s, n);
	free(s);
	b = uv_buf_init(wr->data, (unsigned)(n + 4));
	if (uv_write(&wr->req, (uv_stream_t *)&jc->pipe, &b, 1, on_written)) {
		free(wr->data);
		free(wr);
		return JCLIENT_EDOWN;
	}
	return 0;
}

int jclient_run(struct jclient *jc, const char *code, size_t code_len, jclient_output_cb *out,
		jclient_done_cb *done, void *ud, uint64_t *run)
{
	return jclient_run_tests(jc, json_pack("{s:s%}", "code", code, code_len), out, NULL, done,
				 ud, run);
}

int jclient_run_tests(struct jclient *jc, json_t *req, jclient_output_cb *out,
		      jclient_test_cb *test, jclient_done_cb *done, void *ud, uint64_t *run)
{
	struct jrun *r;
	int rc;

	if (!req)
		return JCLIENT_EDOWN;
	if (!jclient_up(jc)) {
		json_decref(req);
		return JCLIENT_EDOWN;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(req);
		return JCLIENT_EDOWN;
	}
	r->id = ++jc->next_id;
	r->out = out;
	r->test = test;
	r->done = done;
	r->ud = ud;
	json_object_set_new(req, "op", json_string("run"));
	json_object_set_new(req, "id", json_integer((json_int_t)r->id));
	rc = send_frame(jc, req);
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
	send_frame(jc, json_pack("{s:s, s:I}", "op", "cancel", "id", (json_int_t)run));
}
