/*
 * main.c - `tandem`: parse the configuration, split privileges, run the loop.
 *
 * `tandem serve` started as root forks its judge supervisor first (the only
 * process that keeps root: it needs namespaces and cgroups), then binds the
 * listener and drops the network-facing process to --user before the loop
 * accepts anyone.  Started as an ordinary user it serves everything but
 * Run, and says so.  SIGINT/SIGTERM close every WebSocket with 1001, stop
 * the loop and exit 0.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "jclient.h"
#include "judgesup.h"
#include "log.h"
#include "migrate.h"
#include "bank.h"
#include "problems.h"
#include "presence.h"
#include "room.h"
#include "server.h"
#include "timeline.h"
#include "ws.h"

static struct server srv;
static uv_signal_t sig_int, sig_term;
static uv_timer_t stop_timer;
static pid_t sup_pid = -1;

/* Drops to user: groups, gid, uid, in that order, then proves it cannot go back. */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		log_event(LOG_ERROR, "privs.drop", "user=%s msg=%s", user, "no such user");
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		log_event(LOG_ERROR, "privs.drop", "user=%s msg=%s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_event(LOG_ERROR, "privs.drop", "msg=%s", "could regain root; refusing to run");
		return -1;
	}
	prctl(PR_SET_DUMPABLE, 0);
	log_event(LOG_INFO, "privs.drop", "user=%s uid=%d gid=%d", user, (int)pw->pw_uid,
		  (int)pw->pw_gid);
	return 0;
}

static void on_presence(void *ud, const struct presence_event *ev)
{
	room_presence_event(ud, ev);
}

/* timeline.c (wiring added by the timeline work): acks wait for durability. */
static void on_durable(void *ud, const char *room, uint64_t seq)
{
	room_timeline_durable(ud, room, seq);
}

/* The judge client's reports (jclient.h): Run's availability, and /metrics. */
static void on_judge_state(void *ud, const char *down)
{
	(void)ud;
	srv.judge_down = down;
}

static void on_judge_stats(void *ud, unsigned queued, unsigned pool)
{
	(void)ud;
	srv.metrics.judge_queued = queued;
	srv.metrics.judge_pool = pool;
}

/* Every event durable, and flushed unless PostgreSQL is away (the stream keeps those). */
static bool timeline_settled(void)
{
	if (!srv.timeline)
		return true;
	return timeline_undurable(srv.timeline) == 0 &&
	       (timeline_backlog(srv.timeline) == 0 || !srv.db || !db_healthy(srv.db));
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static struct lws_context *dying_ctx;

static void stop_now(uv_timer_t *t)
{
	(void)t;
	if (srv.ctx) {
		/* With a foreign loop lws closes its handles asynchronously; the
		 * second destroy, once the loop has drained, frees the rest. */
		dying_ctx = srv.ctx;
		lws_context_destroy(srv.ctx);
		srv.ctx = NULL;
	}
	if (srv.judge) {
		jclient_destroy(srv.judge);
		srv.judge = NULL;
	}
	if (srv.presence) {
		presence_destroy(srv.presence);
		srv.presence = NULL;
	}
	if (srv.timeline) {
		timeline_destroy(srv.timeline);
		srv.timeline = NULL;
	}
	bank_destroy(srv.bank);
	srv.bank = NULL;
	if (srv.db) {
		db_destroy(srv.db);
		srv.db = NULL;
	}
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&stop_timer, NULL);
}

/*
 * Waits (bounded: 5 s) for the 1001 close frames to go out and the last
 * snapshots to reach PostgreSQL, then tears down.
 */
static void stop_poll(uv_timer_t *t)
{
	static int ticks;

	/* Snapshots wait for their rooms' events to be durable (timeline wiring). */
	rooms_save_all(&srv);
	if ((srv.conns_open == 0 && timeline_settled() && (!srv.db || db_pending(srv.db) == 0)) ||
	    ++ticks > 100) {
		if (!timeline_settled())
			log_event(LOG_ERROR, "shutdown", "msg=%s undurable=%zu backlog=%zu",
				  "timeline not settled in time", timeline_undurable(srv.timeline),
				  timeline_backlog(srv.timeline));
		if (srv.db && db_pending(srv.db))
			log_event(LOG_ERROR, "shutdown", "msg=%s pending=%zu",
				  "PostgreSQL did not answer in time; the last snapshots may be "
				  "older than the document",
				  db_pending(srv.db));
		uv_timer_stop(t);
		stop_now(t);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (srv.stopping)
		return;
	log_event(LOG_INFO, "shutdown", "signal=%d conns=%llu", signum,
		  (unsigned long long)srv.conns_open);
	ws_stop(&srv);
	rooms_save_all(&srv);
	timeline_flush(srv.timeline);
	uv_timer_start(&stop_timer, stop_poll, 0, 50);
}

static int migrate_main(const struct tandem_config *cfg)
{
	char err[1024];
	int applied = 0;
	int rc = migrate_run(cfg->pg, cfg->migrations_dir, &applied, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "tandem migrate: %s\n", err[0] ? err : migrate_strerror(rc));
		return 1;
	}
	printf("tandem migrate: %d migration(s) applied from %s\n", applied, cfg->migrations_dir);
	return 0;
}

/*
 * Ends the supervisor for certain once serve() has closed its socket (the
 * supervisor exits on that EOF, and on SIGTERM): SIGTERM, at most
 * SUP_STOP_MS, then SIGKILL (its sandboxes and zygote die with it by their
 * death signal).  An unbounded wait once left `tandem serve` hanging, and
 * a supervisor that outlived it held stderr for minutes.
 */
#define SUP_STOP_MS 3000

static void stop_supervisor(void)
{
	int pidfd = (int)syscall(SYS_pidfd_open, sup_pid, 0);
	int st;

	kill(sup_pid, SIGTERM);
	if (pidfd >= 0) {
		struct pollfd pfd = { pidfd, POLLIN, 0 };
		int n;

		while ((n = poll(&pfd, 1, SUP_STOP_MS)) < 0 && errno == EINTR)
			;
		close(pidfd);
		if (n == 0) {
			log_event(LOG_WARN, "judgesup.kill", "pid=%d waited_ms=%d", (int)sup_pid,
				  SUP_STOP_MS);
			kill(sup_pid, SIGKILL);
		}
	} else {
		kill(sup_pid, SIGKILL);
	}
	while (waitpid(sup_pid, &st, 0) < 0 && errno == EINTR)
		;
	sup_pid = -1;
}

static int start_supervisor(const struct tandem_config *cfg, int *fd)
{
	pid_t parent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	sup_pid = fork();
	if (sup_pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (sup_pid == 0) {
		close(sv[0]);
		_exit(judgesup_main(sv[1], parent, cfg->judge_workers, false));
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

static int serve(const struct tandem_config *cfg)
{
	uv_loop_t *loop = uv_default_loop();
	int judge_fd = -1, status = 0;
	bool root = geteuid() == 0;

	config_log(cfg);
	memset(&srv, 0, sizeof(srv));
	srv.loop = loop;
	srv.secret = cfg->secret;
	srv.admin_key = cfg->admin_key;
	srv.public_url = cfg->public_url;
	srv.lim.max_frame = cfg->max_frame;
	srv.lim.max_doc = cfg->max_doc;
	srv.lim.ops_per_s = cfg->ops_per_s;
	srv.lim.runs_per_min = cfg->runs_per_min;
	srv.lim.join_timeout_ms = (unsigned)cfg->join_timeout_ms;
	srv.lim.heartbeat_ms = (unsigned)cfg->heartbeat_ms;
	srv.lim.left_after_ms = (unsigned)cfg->left_after_ms;
	srv.lim.ack_delay_ms = (unsigned)cfg->ack_delay_ms;
	srv.lim.send_queue_bytes =
		cfg->max_frame * 2 > (4u << 20) ? cfg->max_frame * 2 : (4u << 20);

	/* Fork the privileged half before anything else is opened. */
	if (root) {
		if (start_supervisor(cfg, &judge_fd)) {
			log_event(LOG_ERROR, "judgesup.fork", "msg=%s", strerror(errno));
			return 1;
		}
	} else {
		srv.judge_down = "tandem runs as an ordinary user: the judge needs root for its "
				 "namespaces and cgroups, so Run is disabled";
		log_event(LOG_WARN, "judge.disabled", "uid=%d msg=%s", (int)geteuid(),
			  srv.judge_down);
	}

	if (ws_start(&srv, cfg->listen_host, cfg->listen_port, cfg->static_dir)) {
		log_event(LOG_ERROR, "listen", "listen=%s msg=%s", cfg->listen, "could not listen");
		status = 1;
		goto out;
	}
	if (root && drop_privileges(cfg->user)) {
		status = 1;
		goto out;
	}
	if (judge_fd >= 0) {
		static const struct jclient_events judge_events = { on_judge_state, on_judge_stats,
								    NULL };
		int fd = judge_fd;

		judge_fd = -1; /* jclient's from now on, even on failure */
		if (jclient_create(loop, fd, &judge_events, &srv.judge)) {
			log_event(LOG_ERROR, "judge.client", "msg=%s",
				  "cannot watch the supervisor socket");
			status = 1;
			goto out;
		}
	}
	{
		struct presence_options po;

		memset(&po, 0, sizeof(po));
		po.host = cfg->redis_host;
		po.port = cfg->redis_port;
		po.db = cfg->redis_db;
		po.left_after_ms = cfg->left_after_ms;
		po.heartbeat_ms = cfg->heartbeat_ms;
		po.on_event = on_presence;
		po.ud = &srv;
		if (presence_create(loop, &po, &srv.presence))
			log_event(LOG_WARN, "presence", "msg=%s",
				  "presence disabled: out of memory");
	}

	if (db_create(loop, cfg->pg, NULL, &srv.db))
		log_event(LOG_ERROR, "db", "msg=%s", "cannot set up the PostgreSQL client");
	else if (bank_create(&srv, &srv.bank))
		log_event(LOG_ERROR, "bank", "msg=%s", "cannot set up the problem bank");
	{
		struct timeline_options to;

		memset(&to, 0, sizeof(to));
		to.redis_host = cfg->redis_host;
		to.redis_port = cfg->redis_port;
		to.redis_db = cfg->redis_db;
		to.db = srv.db;
		to.on_durable = on_durable;
		to.ud = &srv;
		to.backlog_gauge = &srv.metrics.timeline_backlog;
		/*
		 * XADDs of 10 ms go out in one write: at 5,000 edits/s a
		 * hundred writes a second instead of thousands, for both us and
		 * Redis.  Acks wait for the reply, but they wait for
		 * --ack-delay-ms (200) anyway.
		 */
		to.redis_batch_ms = 10;
		if (timeline_create(loop, &to, &srv.timeline))
			log_event(LOG_ERROR, "timeline", "msg=%s", "cannot set up the timeline");
	}

	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_term);
	uv_timer_init(loop, &stop_timer);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	log_event(LOG_INFO, "serve", "listen=%s public_url=%s static=%s", cfg->listen,
		  cfg->public_url, cfg->static_dir);
	uv_run(loop, UV_RUN_DEFAULT);
out:
	if (srv.ctx) {
		/*
		 * Startup failed (could not listen, say): lws closes its handles
		 * from the loop, so let it run before anything else closes them
		 * (closing one twice aborts in libuv); the second destroy below
		 * frees the rest.
		 */
		dying_ctx = srv.ctx;
		lws_context_destroy(srv.ctx);
		srv.ctx = NULL;
		uv_run(loop, UV_RUN_NOWAIT);
	}
	if (srv.judge)
		jclient_destroy(srv.judge);
	if (srv.presence)
		presence_destroy(srv.presence);
	if (srv.timeline)
		timeline_destroy(srv.timeline);
	bank_destroy(srv.bank);
	srv.bank = NULL;
	if (srv.db)
		db_destroy(srv.db);
	uv_walk(loop, walk_close, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	if (dying_ctx)
		lws_context_destroy(dying_ctx);
	rooms_free(&srv);
	ws_finish(&srv);
	uv_loop_close(loop);
	if (judge_fd >= 0)
		close(judge_fd);
	log_event(LOG_INFO, "exit", "status=%d", status);
	return status;
}

int main(int argc, char **argv)
{
	struct tandem_config cfg;
	char err[512];
	int rc;

	log_init_from_env();
	signal(SIGPIPE, SIG_IGN);
	/* `tandem problems ...` has its own arguments (server/problems-cli.c). */
	if (argc >= 2 && !strcmp(argv[1], "problems"))
		return problems_main(argc - 1, argv + 1);
	rc = config_parse(&cfg, argc, argv, NULL, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n(see tandem --help)\n", err);
		config_finish(&cfg);
		return 2;
	}
	switch (cfg.command) {
	case CONFIG_CMD_HELP:
		config_usage(stdout, cfg.help_topic);
		rc = 0;
		break;
	case CONFIG_CMD_VERSION:
		printf("tandem %s\n", TANDEM_VERSION);
		rc = 0;
		break;
	case CONFIG_CMD_MIGRATE:
		rc = migrate_main(&cfg);
		break;
	case CONFIG_CMD_SERVE:
	default:
		rc = serve(&cfg);
		if (sup_pid > 0)
			stop_supervisor();
		break;
	}
	config_finish(&cfg);
	return rc;
}
