/*
 * config.h - the tandem command line and environment.
 *
 * Boundary: parsing and validation only.  config_parse() reads argv and an
 * environment, fills a struct and reports the first problem as one line of
 * text; it never exits, prints, opens sockets or touches files, so every
 * rule is testable.  Flags win over environment variables, which win over
 * the defaults.  The flags and variables below are a stable interface
 * (README.md, docs/protocol.md and outside scripts rely on them); the help
 * text in config.c documents each of them.
 *
 *   tandem serve   [flags]     run the server
 *   tandem migrate [flags]     apply migrations/NNNN_name.sql to PostgreSQL, then exit
 *   tandem help | --help | -h, tandem <command> --help
 *   tandem version | --version
 */
#ifndef TANDEM_CONFIG_H
#define TANDEM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_ERRNO_MAP(X)                                               \
	X(USAGE, -1, "bad command line or environment (see the message)") \
	X(NOMEM, -2, "out of memory")                                     \
	X(RANDOM, -3, "no randomness for a --dev secret")

enum {
#define CONFIG_ERRNO_ENUM(name, value, text) CONFIG_E_##name = (value),
	CONFIG_ERRNO_MAP(CONFIG_ERRNO_ENUM)
#undef CONFIG_ERRNO_ENUM
};

/* A static string for 0 or a CONFIG_E_* code. */
const char *config_strerror(int err);

enum config_command {
	CONFIG_CMD_SERVE = 0,
	CONFIG_CMD_MIGRATE,
	CONFIG_CMD_HELP,    /* print config_usage() for help_topic, exit 0 */
	CONFIG_CMD_VERSION, /* print "tandem <version>", exit 0 */
};

/*
 * The whole configuration.  Every string is owned by the struct (freed by
 * config_finish()) and non-NULL after a successful parse, except where a
 * comment says otherwise.
 */
struct tandem_config {
	enum config_command command;
	enum config_command help_topic; /* for CONFIG_CMD_HELP: SERVE, MIGRATE or HELP (general) */

	/* --listen HOST:PORT / TANDEM_LISTEN; listen is the text as given. */
	char *listen;
	char *listen_host; /* brackets of "[::1]:8080" removed */
	int listen_port;   /* 0..65535; 0 lets the kernel choose */

	/* --redis URL / TANDEM_REDIS_URL: redis://HOST:PORT[/DB] */
	char *redis_url;
	char *redis_host;
	int redis_port;
	int redis_db;

	char *pg;     /* --pg CONNINFO / TANDEM_PG (libpq conninfo or URI) */
	char *secret; /* --secret / TANDEM_SECRET; generated with --dev */
	bool secret_generated;
	char *admin_key; /* --admin-key / TANDEM_ADMIN_KEY; generated with --dev */
	bool admin_key_generated;
	bool dev;		/* --dev / TANDEM_DEV=1 */
	char *static_dir;	/* --static DIR / TANDEM_STATIC */
	unsigned judge_workers; /* --judge-workers N / TANDEM_JUDGE_WORKERS */
	char *user;		/* --user NAME / TANDEM_USER */
	char *public_url;	/* --public-url URL / TANDEM_PUBLIC_URL; no trailing '/' */
	char *migrations_dir;	/* --migrations DIR / TANDEM_MIGRATIONS */

	/* Timing knobs (milliseconds). */
	uint64_t left_after_ms;	  /* --left-after-ms / TANDEM_LEFT_AFTER_MS */
	uint64_t heartbeat_ms;	  /* --heartbeat-ms / TANDEM_HEARTBEAT_MS */
	uint64_t ack_delay_ms;	  /* --ack-delay-ms / TANDEM_ACK_DELAY_MS */
	uint64_t join_timeout_ms; /* --join-timeout-ms / TANDEM_JOIN_TIMEOUT_MS */

	/* Limits. */
	size_t max_frame;      /* --max-frame / TANDEM_MAX_FRAME, bytes */
	size_t max_doc;	       /* --max-doc / TANDEM_MAX_DOC, bytes of text */
	unsigned ops_per_s;    /* --ops-per-s / TANDEM_OPS_PER_S, per connection */
	unsigned runs_per_min; /* --runs-per-min / TANDEM_RUNS_PER_MIN, per seat */
};

/*
 * Fills *cfg from argv (argv[0] is the program name) and envp (a
 * NULL-terminated "NAME=value" array; NULL means the process environment).
 * cfg need not be initialised; on return it always holds something
 * config_finish() can free, even on error.  argv and envp are borrowed.
 * On error, err (errlen bytes, may be NULL) gets one line without a newline,
 * such as "tandem: --listen: expected HOST:PORT, got 'x'".
 * Returns 0, CONFIG_E_USAGE, CONFIG_E_NOMEM or CONFIG_E_RANDOM.
 */
int config_parse(struct tandem_config *cfg, int argc, char **argv, char *const *envp, char *err,
		 size_t errlen);

/* "0.1.0": the version tandem was built as (static string). */
const char *config_version(void);

/* Frees what cfg owns and zeroes it; accepts NULL and a zeroed struct. */
void config_finish(struct tandem_config *cfg);

/*
 * Writes the help for topic (CONFIG_CMD_SERVE, _MIGRATE, or _HELP for the
 * overview that also lists every flag) to out.
 */
void config_usage(FILE *out, enum config_command topic);

/*
 * Logs what the operator must know about cfg through log.h: the --dev
 * warning (with the generated admin key, which is the only way to learn it)
 * and the effective settings (secrets never printed).
 */
void config_log(const struct tandem_config *cfg);

#endif
