/*
 * http-problems.c - the admin's problem routes: /api/problems[/ID].
 *
 * Why it exists: problems are written by hand in folders, but an admin must
 * also be able to list, read (hidden tests included), create or replace
 * (a JSON body, a tar of a problem folder, or a Py-Katas YAML file) and
 * delete them on a running server.  Uploads go through exactly the
 * validation of `tandem problems import` (judge/problem.c), and storing
 * goes through the same SQL function, so a problem cannot be valid in one
 * place and not the other.
 *
 * It must never store part of a problem: any error answers 400 with every
 * error found and stores nothing.  A tar is unpacked into a fresh private
 * folder under fixed names only (the archive's paths are never used as
 * paths), loaded, and removed; a kata file likewise, as "<id>.yaml" with
 * the path's id (already checked to be [a-z0-9-]{1,64}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bank.h"
#include "http.h"
#include "problem.h"
#include "server.h"

static json_t *error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static void answered(void *ud, int status, json_t *body)
{
	http_wait_reply(ud, status, body);
}

/* The files of a problem folder an upload may carry, and where they go. */
static const char *const upload_files[] = { "problem.yaml", "tests/sample.jsonl",
					    "tests/hidden.jsonl", "gen.py" };
#define NFILES (sizeof(upload_files) / sizeof(upload_files[0]))

static size_t octal(const char *s, size_t n)
{
	size_t v = 0;

	for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '7'; i++)
		v = v * 8 + (size_t)(s[i] - '0');
	return v;
}

/*
 * Finds the known files in a ustar archive (one leading folder allowed).
 * data[k]/len[k] point into the archive.  Returns 0, or -1 with *why.
 */
static int untar(const char *tar, size_t n, const char *data[NFILES], size_t len[NFILES],
		 const char **why)
{
	size_t off = 0;

	for (size_t k = 0; k < NFILES; k++)
		data[k] = NULL;
	while (off + 512 <= n) {
		const char *h = tar + off;
		char name[256 + 2];

		if (h[0] == '\0')
			break; /* the end blocks */
		if (memcmp(h + 257, "ustar", 5) != 0) {
			*why = "not a tar archive (ustar)";
			return -1;
		}
		size_t size = octal(h + 124, 12);
		char type = h[156];
		if (h[345])
			snprintf(name, sizeof(name), "%.155s/%.100s", h + 345, h);
		else
			snprintf(name, sizeof(name), "%.100s", h);
		off += 512;
		if (size > n - off) {
			*why = "truncated tar archive";
			return -1;
		}
		const char *rel = name;
		if (rel[0] == '.' && rel[1] == '/')
			rel += 2;
		for (int pass = 0; pass < 2; pass++) {
			for (size_t k = 0; k < NFILES; k++)
				if ((type == '0' || type == '\0') &&
				    !strcmp(rel, upload_files[k])) {
					data[k] = tar + off;
					len[k] = size;
				}
			/* One leading folder ("pair-sum/problem.yaml"). */
			const char *slash = strchr(rel, '/');
			if (!slash)
				break;
			rel = slash + 1;
		}
		off += (size + 511) / 512 * 512;
	}
	if (!data[0]) {
		*why = "the archive holds no problem.yaml";
		return -1;
	}
	return 0;
}

static int put_file(const char *dir, const char *rel, const char *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wbx");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/*
 * problem_load(path) of an upload unpacked under the private folder dir;
 * its messages name the folder "upload" (the temporary folder is nobody's
 * business).
 */
static void load_unpacked(const char *dir, const char *path, struct problem **p, json_t *errors)
{
	json_t *raw = json_array(), *e;
	size_t i;

	problem_load(path, p, raw);
	json_array_foreach(raw, i, e)
	{
		const char *s = json_string_value(e);
		if (!strncmp(s, dir, strlen(dir)))
			json_array_append_new(errors, json_sprintf("upload%s", s + strlen(dir)));
		else
			json_array_append(errors, e);
	}
	json_decref(raw);
}

/*
 * Loads a Py-Katas YAML upload (a Content-Type naming YAML) through
 * problem_load() as the file "<id>.yaml": messages name "upload/<id>.yaml".
 */
static struct problem *load_kata_upload(const char *id, const char *body, size_t n, json_t *errors)
{
	char dir[] = "/tmp/tandem-upload-XXXXXX", name[80], path[160];
	struct problem *p = NULL;

	if (!mkdtemp(dir)) {
		json_array_append_new(errors, json_string("upload: cannot unpack it here"));
		return NULL;
	}
	snprintf(name, sizeof(name), "%s.yaml", id);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (put_file(dir, name, body, n))
		json_array_append_new(errors, json_string("upload: cannot unpack it here"));
	else
		load_unpacked(dir, path, &p, errors);
	unlink(path);
	rmdir(dir);
	return p;
}

/* Loads a tar upload through problem_load(); messages name "upload/...". */
static struct problem *load_tar(const char *body, size_t n, json_t *errors)
{
	const char *data[NFILES];
	size_t len[NFILES];
	const char *why = NULL;
	char dir[] = "/tmp/tandem-upload-XXXXXX", sub[64];
	struct problem *p = NULL;

	if (untar(body, n, data, len, &why)) {
		json_array_append_new(errors, json_sprintf("upload: %s", why));
		return NULL;
	}
	if (!mkdtemp(dir)) {
		json_array_append_new(errors, json_string("upload: cannot unpack it here"));
		return NULL;
	}
	snprintf(sub, sizeof(sub), "%s/tests", dir);
	mkdir(sub, 0700);
	bool ok = true;
	for (size_t k = 0; k < NFILES; k++)
		if (data[k] && put_file(dir, upload_files[k], data[k], len[k]))
			ok = false;
	if (ok)
		load_unpacked(dir, dir, &p, errors);
	else
		json_array_append_new(errors, json_string("upload: cannot unpack it here"));
	for (size_t k = 0; k < NFILES; k++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, upload_files[k]);
		unlink(path);
	}
	rmdir(sub);
	rmdir(dir);
	return p;
}

/* A bank call that could not start: its wait is dropped, 503 answered. */
static int unavailable(struct http_wait *w, json_t **out)
{
	if (w)
		http_wait_cancel(w);
	*out = error_json("database unavailable");
	return 503;
}

static int put_problem(struct server *srv, struct http_req *hr, const char *id, const char *body,
		       size_t n, json_t **out)
{
	json_t *errors = json_array();
	struct problem *p = NULL;

	if (n && hr->yaml) {
		p = load_kata_upload(id, body, n, errors);
	} else if (n && body[0] == '{') {
		json_error_t jerr;
		json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
		if (!o) {
			json_array_append_new(errors, json_sprintf("upload:%d: bad JSON: %s",
								   jerr.line, jerr.text));
		} else {
			if (!json_object_get(o, "id"))
				json_object_set_new(o, "id", json_string(id));
			problem_from_json(o, "upload", &p, errors);
			json_decref(o);
		}
	} else if (n) {
		p = load_tar(body, n, errors);
	} else {
		json_array_append_new(errors, json_string("upload: empty body"));
	}
	if (p && strcmp(p->id, id)) {
		json_array_append_new(
			errors, json_sprintf("upload: id '%s' is not the path's '%s'", p->id, id));
		problem_destroy(p);
		p = NULL;
	}
	if (!p) {
		*out = json_pack("{s:s, s:o}", "error", "invalid", "errors", errors);
		return 400;
	}
	json_decref(errors);
	struct http_wait *w = http_wait_start(srv, hr, "problems.put");
	int rc = w ? bank_put(srv->bank, p, answered, w) : -1;
	problem_destroy(p);
	return rc ? unavailable(w, out) : 0;
}

int http_problems(struct server *srv, struct http_req *hr, const char *method, const char *path,
		  const char *auth, const char *body, size_t body_len, json_t **out)
{
	const char *id = path[13] == '/' ? path + 14 : NULL;
	char buf[16];
	int rc;

	if (!http_is_admin(srv, auth)) {
		*out = error_json("admin key required (Authorization: Bearer <admin key>)");
		return 401;
	}
	if (!srv->bank) {
		*out = error_json("database unavailable");
		return 503;
	}
	if (id && (!id[0] || strlen(id) > 64 ||
		   strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(id))) {
		*out = error_json("no such problem");
		return 404;
	}
	if (id && !strcmp(method, "PUT"))
		return put_problem(srv, hr, id, body, body_len, out);
	if (strcmp(method, "GET") && (!id || strcmp(method, "DELETE"))) {
		*out = error_json(id ? "use GET, PUT or DELETE"
				     : "use GET, or PUT /api/problems/:id");
		return 405;
	}
	struct http_wait *w = http_wait_start(srv, hr, "problems");
	if (!w) {
		rc = -1;
	} else if (!id) {
		const char *a =
			hr->wsi ? lws_get_urlarg_by_name(hr->wsi, "archived=", buf, sizeof(buf))
				: NULL;
		rc = bank_list(srv->bank, a && !strcmp(a, "1"), answered, w);
	} else if (!strcmp(method, "GET")) {
		rc = bank_admin_get(srv->bank, id, answered, w);
	} else {
		rc = bank_archive(srv->bank, id, answered, w);
	}
	return rc ? unavailable(w, out) : 0;
}
