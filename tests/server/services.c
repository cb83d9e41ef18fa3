/*
 * services.c - start, kill and restart private Redis and PostgreSQL
 * servers for the server tests (see services.h).
 */
#include "services.h"

#include <errno.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int svc_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool on_path(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* One PING over a fresh connection; true on +PONG. */
static bool redis_ping(int port)
{
	struct sockaddr_in a;
	char buf[16];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, "PING\r\n", 6) == 6 &&
	    read(fd, buf, sizeof(buf)) >= 5)
		ok = strncmp(buf, "+PONG", 5) == 0;
	close(fd);
	return ok;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int svc_redis_start(struct svc_redis *r)
{
	char port[16], log[128];

	if (!on_path("redis-server"))
		return SVC_SKIP;
	if (r->dir[0] == '\0') {
		snprintf(r->dir, sizeof(r->dir), "/tmp/tandem-test-redis-XXXXXX");
		if (mkdtemp(r->dir) == NULL)
			return -1;
	}
	if (r->port == 0)
		r->port = svc_free_port();
	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		/* A test that dies (REQUIRE, crash) takes its Redis along. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		       "--dir", r->dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		       "--logfile", log, (char *)NULL);
		_exit(127);
	}
	/* Readiness: bounded polling until it answers (it forks nothing). */
	for (int i = 0; i < 1000; i++) {
		if (redis_ping(r->port))
			return 0;
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			return -1;
		}
		pause_ms(10);
	}
	return -1;
}

void svc_redis_kill(struct svc_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

void svc_redis_destroy(struct svc_redis *r)
{
	char cmd[128];

	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	if (r->dir[0] != '\0' && strncmp(r->dir, "/tmp/tandem-test-", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "services: could not remove %s\n", r->dir);
	}
	r->dir[0] = '\0';
}

/* Runs a shell command as the cluster owner: postgres when we are root. */
static int as_owner(const char *cmd)
{
	char full[2048];

	if (geteuid() == 0)
		snprintf(full, sizeof(full), "runuser -u postgres -- sh -c \"%s\"", cmd);
	else
		snprintf(full, sizeof(full), "%s", cmd);
	return system(full) == 0 ? 0 : -1;
}

int svc_pg_create(struct svc_pg *pg)
{
	glob_t g;
	char cmd[1024];

	memset(pg, 0, sizeof(*pg));
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		return SVC_SKIP;
	}
	/* The newest version: glob sorts, and "15" < "16" holds for two-digit majors. */
	snprintf(pg->bindir, sizeof(pg->bindir), "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	*strrchr(pg->bindir, '/') = '\0';
	if (geteuid() == 0 && getpwnam("postgres") == NULL)
		return SVC_SKIP;

	snprintf(pg->dir, sizeof(pg->dir), "/tmp/tandem-test-pg-XXXXXX");
	if (mkdtemp(pg->dir) == NULL)
		return -1;
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0)
			return -1;
	}
	snprintf(cmd, sizeof(cmd),
		 "%s/initdb -D %s/data -A trust -U postgres -E UTF8 --no-locale "
		 "--no-sync >%s/initdb.log 2>&1",
		 pg->bindir, pg->dir, pg->dir);
	if (as_owner(cmd) < 0) {
		fprintf(stderr, "services: initdb failed, see %s/initdb.log\n", pg->dir);
		return -1;
	}
	pg->port = svc_free_port();
	snprintf(pg->conninfo, sizeof(pg->conninfo),
		 "host=127.0.0.1 port=%d dbname=postgres user=postgres", pg->port);
	return svc_pg_start(pg);
}

int svc_pg_start(struct svc_pg *pg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "%s/pg_ctl start -D %s/data -l %s/pg.log -s -w -t 60 -o '-p %d -c "
		 "listen_addresses=127.0.0.1 -k %s -c fsync=off'",
		 pg->bindir, pg->dir, pg->dir, pg->port, pg->dir);
	if (as_owner(cmd) < 0) {
		fprintf(stderr, "services: pg_ctl start failed, see %s/pg.log\n", pg->dir);
		return -1;
	}
	pg->running = true;
	return 0;
}

int svc_pg_stop(struct svc_pg *pg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s/pg_ctl stop -D %s/data -m fast -s -w -t 60", pg->bindir,
		 pg->dir);
	if (as_owner(cmd) < 0)
		return -1;
	pg->running = false;
	return 0;
}

void svc_pg_destroy(struct svc_pg *pg)
{
	char cmd[128];

	if (pg->running)
		svc_pg_stop(pg);
	if (pg->dir[0] != '\0' && strncmp(pg->dir, "/tmp/tandem-test-", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pg->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "services: could not remove %s\n", pg->dir);
	}
	pg->dir[0] = '\0';
}

static void wait_expired(uv_timer_t *t)
{
	((struct svc_wait *)t->data)->expired = true;
}

static void wait_tick(uv_timer_t *t)
{
	(void)t;
}

static void wait_closed(uv_handle_t *h)
{
	((struct svc_wait *)h->data)->open--;
}

void svc_wait_start(uv_loop_t *loop, struct svc_wait *w, unsigned guard_ms)
{
	w->expired = false;
	w->open = 2;
	uv_timer_init(loop, &w->guard);
	uv_timer_init(loop, &w->ticker);
	w->guard.data = w;
	w->ticker.data = w;
	uv_timer_start(&w->guard, wait_expired, guard_ms, 0);
	uv_timer_start(&w->ticker, wait_tick, 10, 10);
}

void svc_wait_stop(struct svc_wait *w)
{
	uv_loop_t *loop = w->guard.loop;

	uv_close((uv_handle_t *)&w->guard, wait_closed);
	uv_close((uv_handle_t *)&w->ticker, wait_closed);
	while (w->open > 0)
		uv_run(loop, UV_RUN_NOWAIT);
}

bool svc_run_until(uv_loop_t *loop, bool *flag, unsigned guard_ms)
{
	struct svc_wait w;

	svc_wait_start(loop, &w, guard_ms);
	while (!*flag && !w.expired)
		uv_run(loop, UV_RUN_ONCE);
	svc_wait_stop(&w);
	return *flag;
}
