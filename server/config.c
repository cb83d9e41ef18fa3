/*
 * config.c - flags, environment variables, defaults and the help text.
 *
 * Every setting is one row of the options table below: flag, variable,
 * default, parser and help line.  The help output, the parser and the
 * environment lookup all walk that one table, so a setting cannot be
 * documented but unparsed or parsed but undocumented.  This file must never
 * print or exit: main() decides what to do with an error.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.0.0"
#endif
#ifndef TANDEM_DEFAULT_STATIC
#define TANDEM_DEFAULT_STATIC "frontend/dist"
#endif
#ifndef TANDEM_DEFAULT_MIGRATIONS
#define TANDEM_DEFAULT_MIGRATIONS "migrations"
#endif

const char *config_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define CONFIG_STRERROR_CASE(name, value, text) \
	case CONFIG_E_##name:                   \
		return text;
		CONFIG_ERRNO_MAP(CONFIG_STRERROR_CASE)
#undef CONFIG_STRERROR_CASE
	default:
		return "unknown config error";
	}
}

enum opt_kind {
	K_STRING,
	K_LISTEN,
	K_REDIS,
	K_MS,	  /* uint64 milliseconds, >= 1 */
	K_SIZE,	  /* size_t bytes, >= 1, optional K/M/G suffix (binary) */
	K_COUNT,  /* unsigned, >= 1 */
	K_BOOL,	  /* flag without value; variable "1"/"true"/"yes" or "0"/"false"/"no" */
	K_SECRET, /* string, non-empty */
};

/* Which commands an option applies to. */
#define FOR_SERVE   1u
#define FOR_MIGRATE 2u

struct opt {
	const char *flag;
	const char *env;
	enum opt_kind kind;
	size_t offset;
	const char *def; /* NULL: no default (or computed) */
	unsigned cmds;
	const char *arg; /* metavariable for help */
	const char *help;
};

#define OFF(field) offsetof(struct tandem_config, field)

static const struct opt opts[] = {
	{ "--listen", "TANDEM_LISTEN", K_LISTEN, OFF(listen), "127.0.0.1:8080", FOR_SERVE,
	  "HOST:PORT", "address for HTTP and WebSocket ([::1]:8080 for IPv6; port 0 = any)" },
	{ "--redis", "TANDEM_REDIS_URL", K_REDIS, OFF(redis_url), "redis://127.0.0.1:6390",
	  FOR_SERVE, "URL", "Redis for presence and the timeline stream: redis://HOST:PORT[/DB]" },
	/*
	 * The default is the private cluster of scripts/services, on loopback
	 * and without TLS: libpq's "prefer" modes would try GSSAPI (reading
	 * the Kerberos set-up) and TLS at each connection for nothing, and
	 * touching those libraries costs the server ~0.7 MB of memory.
	 */
	{ "--pg", "TANDEM_PG", K_STRING, OFF(pg),
	  "host=127.0.0.1 port=5490 dbname=tandem user=postgres sslmode=disable gssencmode=disable",
	  FOR_SERVE | FOR_MIGRATE, "CONNINFO",
	  "PostgreSQL: libpq conninfo or postgresql:// URI (numeric host: lookups block)" },
	{ "--secret", "TANDEM_SECRET", K_SECRET, OFF(secret), NULL, FOR_SERVE, "S",
	  "HMAC-SHA256 key signing room tokens (required unless --dev; prefer the variable: "
	  "flags show in ps)" },
	{ "--admin-key", "TANDEM_ADMIN_KEY", K_SECRET, OFF(admin_key), NULL, FOR_SERVE, "K",
	  "bearer key for POST /api/rooms (required unless --dev; prefer the variable)" },
	{ "--dev", "TANDEM_DEV", K_BOOL, OFF(dev), NULL, FOR_SERVE, NULL,
	  "development: random secret and admin key when none is given (logged; never in "
	  "production)" },
	{ "--static", "TANDEM_STATIC", K_STRING, OFF(static_dir), TANDEM_DEFAULT_STATIC, FOR_SERVE,
	  "DIR", "folder of the built frontend, served at /" },
	{ "--judge-workers", "TANDEM_JUDGE_WORKERS", K_COUNT, OFF(judge_workers), "4", FOR_SERVE,
	  "N", "warm sandboxes kept ready in the judge pool" },
	{ "--user", "TANDEM_USER", K_STRING, OFF(user), "nobody", FOR_SERVE, "NAME",
	  "user the network-facing process drops to when started as root" },
	{ "--public-url", "TANDEM_PUBLIC_URL", K_STRING, OFF(public_url), NULL, FOR_SERVE, "URL",
	  "base URL of room links (default http://<listen>)" },
	{ "--migrations", "TANDEM_MIGRATIONS", K_STRING, OFF(migrations_dir),
	  TANDEM_DEFAULT_MIGRATIONS, FOR_SERVE | FOR_MIGRATE, "DIR",
	  "folder of NNNN_name.sql files applied by 'tandem migrate'" },
	{ "--left-after-ms", "TANDEM_LEFT_AFTER_MS", K_MS, OFF(left_after_ms), "300000", FOR_SERVE,
	  "N", "a member disconnected this long becomes LEFT" },
	{ "--heartbeat-ms", "TANDEM_HEARTBEAT_MS", K_MS, OFF(heartbeat_ms), "10000", FOR_SERVE, "N",
	  "ping and presence refresh interval (a dead peer is noticed within 3x)" },
	{ "--ack-delay-ms", "TANDEM_ACK_DELAY_MS", K_MS, OFF(ack_delay_ms), "200", FOR_SERVE, "N",
	  "longest an ack waits to share a write with other frames to its client" },
	{ "--join-timeout-ms", "TANDEM_JOIN_TIMEOUT_MS", K_MS, OFF(join_timeout_ms), "10000",
	  FOR_SERVE, "N", "a socket must send a valid join within this time" },
	{ "--max-frame", "TANDEM_MAX_FRAME", K_SIZE, OFF(max_frame), "1048576", FOR_SERVE, "BYTES",
	  "largest WebSocket message (bigger: close 1009); K/M/G suffixes allowed" },
	{ "--max-doc", "TANDEM_MAX_DOC", K_SIZE, OFF(max_doc), "1048576", FOR_SERVE, "BYTES",
	  "largest document text; edits beyond it are refused" },
	{ "--ops-per-s", "TANDEM_OPS_PER_S", K_COUNT, OFF(ops_per_s), "200", FOR_SERVE, "N",
	  "edit operations per second per connection" },
	{ "--runs-per-min", "TANDEM_RUNS_PER_MIN", K_COUNT, OFF(runs_per_min), "10", FOR_SERVE, "N",
	  "runs per minute per seat" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Parser state: the struct, the error buffer and the environment. */
struct parse {
	struct tandem_config *cfg;
	char *err;
	size_t errlen;
	char *const *envp;
	bool set[NOPTS]; /* set by flag (flags win over variables) */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->err == NULL || ps->errlen == 0)
		return CONFIG_E_USAGE;
	n = snprintf(ps->err, ps->errlen, "tandem: ");
	if (n < 0 || (size_t)n >= ps->errlen)
		return CONFIG_E_USAGE;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return CONFIG_E_USAGE;
}

static const char *env_get(const struct parse *ps, const char *name)
{
	size_t n = strlen(name);

	if (ps->envp == NULL)
		return getenv(name);
	for (char *const *e = ps->envp; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

static char **str_field(struct tandem_config *cfg, size_t off)
{
	return (char **)(void *)((char *)cfg + off);
}

static int set_str(struct parse *ps, char **field, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return CONFIG_E_NOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Splits "HOST:PORT" or "[V6]:PORT"; host gets a fresh string.  Returns 0 or -1. */
static int split_host_port(const char *v, char **host, int *port)
{
	const char *colon, *hstart, *hend;
	char *end;
	long p;

	if (v[0] == '[') {
		hend = strchr(v, ']');
		if (hend == NULL || hend[1] != ':')
			return -1;
		hstart = v + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL || memchr(v, ':', (size_t)(colon - v)) != NULL)
			return -1;
		hstart = v;
		hend = colon;
	}
	if (hend == hstart || colon[1] == '\0')
		return -1;
	for (const char *c = colon + 1; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < 0 || p > 65535)
		return -1;
	*host = strndup(hstart, (size_t)(hend - hstart));
	if (*host == NULL)
		return -1;
	*port = (int)p;
	return 0;
}

static int parse_listen(struct parse *ps, const char *name, const char *v)
{
	char *host = NULL;
	int port = 0, rc;

	if (split_host_port(v, &host, &port) < 0)
		return fail(ps, "%s: expected HOST:PORT, got '%s'", name, v);
	rc = set_str(ps, &ps->cfg->listen, v);
	if (rc < 0) {
		free(host);
		return rc;
	}
	free(ps->cfg->listen_host);
	ps->cfg->listen_host = host;
	ps->cfg->listen_port = port;
	return 0;
}

static int parse_redis(struct parse *ps, const char *name, const char *v)
{
	static const char scheme[] = "redis://";
	char hostport[300];
	const char *rest, *slash;
	char *host = NULL, *end;
	int port = 6379, db = 0, rc;

	if (strncmp(v, scheme, sizeof(scheme) - 1) != 0)
		return fail(ps, "%s: expected redis://HOST:PORT[/DB], got '%s'", name, v);
	rest = v + sizeof(scheme) - 1;
	if (strchr(rest, '@') != NULL)
		return fail(ps, "%s: credentials in the URL are not supported, got '%s'", name, v);
	slash = strchr(rest, '/');
	size_t hplen = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (hplen == 0 || hplen >= sizeof(hostport))
		return fail(ps, "%s: expected redis://HOST:PORT[/DB], got '%s'", name, v);
	memcpy(hostport, rest, hplen);
	hostport[hplen] = '\0';
	bool has_port = hostport[hplen - 1] != ']' && strrchr(hostport, ':') != NULL &&
			(hostport[0] != '[' || strstr(hostport, "]:") != NULL);
	if (has_port) {
		if (split_host_port(hostport, &host, &port) < 0)
			return fail(ps, "%s: expected redis://HOST:PORT[/DB], got '%s'", name, v);
	} else {
		size_t hl = strlen(hostport);
		if (hostport[0] == '[' && hostport[hl - 1] == ']')
			host = strndup(hostport + 1, hl - 2);
		else
			host = strdup(hostport);
		if (host == NULL)
			return CONFIG_E_NOMEM;
	}
	if (slash != NULL && slash[1] != '\0') {
		errno = 0;
		long d = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || d < 0 || d > 65535 || slash[1] < '0' ||
		    slash[1] > '9') {
			free(host);
			return fail(ps, "%s: database must be a number, got '%s'", name, v);
		}
		db = (int)d;
	}
	rc = set_str(ps, &ps->cfg->redis_url, v);
	if (rc < 0) {
		free(host);
		return rc;
	}
	free(ps->cfg->redis_host);
	ps->cfg->redis_host = host;
	ps->cfg->redis_port = port;
	ps->cfg->redis_db = db;
	return 0;
}

/* Parses a positive decimal with an optional binary suffix (k, m, g, with optional "iB"/"B"). */
static int parse_number(const char *v, bool allow_suffix, uint64_t *out)
{
	uint64_t n = 0, mult = 1;
	const char *p = v;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0') {
		if (!allow_suffix)
			return -1;
		switch (*p) {
		case 'k':
		case 'K':
			mult = 1024;
			break;
		case 'm':
		case 'M':
			mult = 1024 * 1024;
			break;
		case 'g':
		case 'G':
			mult = 1024 * 1024 * 1024;
			break;
		default:
			return -1;
		}
		p++;
		if (strcmp(p, "") != 0 && strcmp(p, "B") != 0 && strcmp(p, "iB") != 0)
			return -1;
		if (n > UINT64_MAX / mult)
			return -1;
		n *= mult;
	}
	if (n == 0)
		return -1;
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off", "" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Applies value v of option o; name is the flag or variable for messages. */
static int apply(struct parse *ps, const struct opt *o, const char *name, const char *v)
{
	struct tandem_config *cfg = ps->cfg;
	void *field = (char *)cfg + o->offset;
	uint64_t n;

	switch (o->kind) {
	case K_STRING:
		if (*v == '\0')
			return fail(ps, "%s: must not be empty", name);
		return set_str(ps, str_field(cfg, o->offset), v);
	case K_SECRET:
		if (*v == '\0')
			return fail(ps, "%s: must not be empty", name);
		return set_str(ps, str_field(cfg, o->offset), v);
	case K_LISTEN:
		return parse_listen(ps, name, v);
	case K_REDIS:
		return parse_redis(ps, name, v);
	case K_MS:
		if (parse_number(v, false, &n) < 0 || n > UINT32_MAX)
			return fail(ps, "%s: expected a number of milliseconds >= 1, got '%s'",
				    name, v);
		*(uint64_t *)field = n;
		return 0;
	case K_SIZE:
		if (parse_number(v, true, &n) < 0 || n > SIZE_MAX / 2)
			return fail(ps,
				    "%s: expected a size in bytes >= 1 (K/M/G allowed), got '%s'",
				    name, v);
		*(size_t *)field = (size_t)n;
		return 0;
	case K_COUNT:
		if (parse_number(v, false, &n) < 0 || n > 1000000)
			return fail(ps, "%s: expected a whole number from 1 to 1000000, got '%s'",
				    name, v);
		*(unsigned *)field = (unsigned)n;
		return 0;
	case K_BOOL:
		if (parse_bool(v, (bool *)field) < 0)
			return fail(ps, "%s: expected 1 or 0, got '%s'", name, v);
		return 0;
	}
	return fail(ps, "%s: unknown option kind", name);
}

static unsigned cmd_mask(enum config_command cmd)
{
	return cmd == CONFIG_CMD_MIGRATE ? FOR_MIGRATE : FOR_SERVE;
}

static int set_defaults(struct parse *ps)
{
	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].def == NULL)
			continue;
		int rc = apply(ps, &opts[i], opts[i].flag, opts[i].def);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int apply_env(struct parse *ps)
{
	unsigned mask = cmd_mask(ps->cfg->command);

	for (size_t i = 0; i < NOPTS; i++) {
		const char *v;
		if (!(opts[i].cmds & mask) || ps->set[i])
			continue;
		v = env_get(ps, opts[i].env);
		if (v == NULL)
			continue;
		int rc = apply(ps, &opts[i], opts[i].env, v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_flags(struct parse *ps, int argc, char **argv, int first)
{
	unsigned mask = cmd_mask(ps->cfg->command);
	const char *cmdname = ps->cfg->command == CONFIG_CMD_MIGRATE ? "migrate" : "serve";

	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		size_t alen;
		const struct opt *o = NULL;
		size_t oi = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ps->cfg->help_topic = ps->cfg->command;
			ps->cfg->command = CONFIG_CMD_HELP;
			return 0;
		}
		if (strncmp(a, "--", 2) != 0)
			return fail(ps, "%s: unexpected argument '%s' (see tandem %s --help)",
				    cmdname, a, cmdname);
		eq = strchr(a, '=');
		alen = eq != NULL ? (size_t)(eq - a) : strlen(a);
		for (oi = 0; oi < NOPTS; oi++) {
			if (strlen(opts[oi].flag) == alen && strncmp(opts[oi].flag, a, alen) == 0) {
				o = &opts[oi];
				break;
			}
		}
		if (o == NULL)
			return fail(ps, "%.*s: unknown flag (see tandem %s --help)", (int)alen, a,
				    cmdname);
		if (!(o->cmds & mask))
			return fail(ps, "%s: not a flag of 'tandem %s'", o->flag, cmdname);
		if (o->kind == K_BOOL) {
			v = eq != NULL ? eq + 1 : "1";
		} else if (eq != NULL) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc)
				return fail(ps, "%s: missing value (%s)", o->flag, o->arg);
			v = argv[++i];
		}
		int rc = apply(ps, o, o->flag, v);
		if (rc < 0)
			return rc;
		ps->set[oi] = true;
	}
	return 0;
}

static int generate_secret(char **field)
{
	char buf[33];

	if (auth_random_id(buf, sizeof(buf)) < 0)
		return CONFIG_E_RANDOM;
	*field = strdup(buf);
	return *field != NULL ? 0 : CONFIG_E_NOMEM;
}

static int finish_serve(struct parse *ps)
{
	struct tandem_config *cfg = ps->cfg;
	int rc;

	if (cfg->secret == NULL) {
		if (!cfg->dev)
			return fail(ps, "serve: no token secret: set --secret or TANDEM_SECRET "
					"(or --dev for a random one)");
		rc = generate_secret(&cfg->secret);
		if (rc < 0)
			return rc;
		cfg->secret_generated = true;
	}
	if (cfg->admin_key == NULL) {
		if (!cfg->dev)
			return fail(ps, "serve: no admin key: set --admin-key or TANDEM_ADMIN_KEY "
					"(or --dev for a random one)");
		rc = generate_secret(&cfg->admin_key);
		if (rc < 0)
			return rc;
		cfg->admin_key_generated = true;
	}
	if (cfg->public_url == NULL) {
		size_t n = strlen(cfg->listen) + sizeof("http://");
		cfg->public_url = malloc(n);
		if (cfg->public_url == NULL)
			return CONFIG_E_NOMEM;
		snprintf(cfg->public_url, n, "http://%s", cfg->listen);
	} else {
		if (strncmp(cfg->public_url, "http://", 7) != 0 &&
		    strncmp(cfg->public_url, "https://", 8) != 0)
			return fail(ps,
				    "--public-url: expected http://... or https://..., got '%s'",
				    cfg->public_url);
		size_t n = strlen(cfg->public_url);
		while (n > 0 && cfg->public_url[n - 1] == '/')
			cfg->public_url[--n] = '\0';
	}
	return 0;
}

int config_parse(struct tandem_config *cfg, int argc, char **argv, char *const *envp, char *err,
		 size_t errlen)
{
	struct parse ps;
	const char *cmd;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ps, 0, sizeof(ps));
	ps.cfg = cfg;
	ps.err = err;
	ps.errlen = errlen;
	ps.envp = envp;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	rc = set_defaults(&ps);
	if (rc < 0)
		return rc;

	if (argc < 2)
		return fail(&ps, "missing command: serve, migrate, help or version (see tandem "
				 "--help)");
	cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		cfg->command = CONFIG_CMD_HELP;
		cfg->help_topic = CONFIG_CMD_HELP;
		if (argc > 2 && strcmp(argv[2], "serve") == 0)
			cfg->help_topic = CONFIG_CMD_SERVE;
		else if (argc > 2 && strcmp(argv[2], "migrate") == 0)
			cfg->help_topic = CONFIG_CMD_MIGRATE;
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		cfg->command = CONFIG_CMD_VERSION;
		return 0;
	}
	if (strcmp(cmd, "serve") == 0)
		cfg->command = CONFIG_CMD_SERVE;
	else if (strcmp(cmd, "migrate") == 0)
		cfg->command = CONFIG_CMD_MIGRATE;
	else
		return fail(&ps, "unknown command '%s' (commands: serve, migrate, help, version)",
			    cmd);

	rc = parse_flags(&ps, argc, argv, 2);
	if (rc < 0 || cfg->command == CONFIG_CMD_HELP)
		return rc;
	rc = apply_env(&ps);
	if (rc < 0)
		return rc;
	if (cfg->command == CONFIG_CMD_SERVE)
		return finish_serve(&ps);
	return 0;
}

void config_finish(struct tandem_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->listen);
	free(cfg->listen_host);
	free(cfg->redis_url);
	free(cfg->redis_host);
	free(cfg->pg);
	if (cfg->secret != NULL) {
		memset(cfg->secret, 0, strlen(cfg->secret));
		free(cfg->secret);
	}
	if (cfg->admin_key != NULL) {
		memset(cfg->admin_key, 0, strlen(cfg->admin_key));
		free(cfg->admin_key);
	}
	free(cfg->static_dir);
	free(cfg->user);
	free(cfg->public_url);
	free(cfg->migrations_dir);
	memset(cfg, 0, sizeof(*cfg));
}

static void usage_options(FILE *out, unsigned mask)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		char left[64];

		if (!(o->cmds & mask))
			continue;
		snprintf(left, sizeof(left), "%s%s%s", o->flag, o->arg != NULL ? " " : "",
			 o->arg != NULL ? o->arg : "");
		fprintf(out, "  %-26s %s\n", left, o->help);
		fprintf(out, "  %-26s env %s", "", o->env);
		if (o->def != NULL)
			fprintf(out, "; default %s", o->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-26s %s\n", "--help, -h", "this help");
}

void config_usage(FILE *out, enum config_command topic)
{
	switch (topic) {
	case CONFIG_CMD_SERVE:
		fprintf(out,
			"Usage: tandem serve [FLAGS]\n\n"
			"Runs the room server: WebSocket /ws (subprotocol tandem.v1), the REST "
			"API under /api,\nthe frontend at /, presence in Redis, the durable "
			"record in PostgreSQL.\nFlags win over environment variables.\n\n"
			"Flags:\n");
		usage_options(out, FOR_SERVE);
		fprintf(out, "\nAlso read: TANDEM_LOG_LEVEL (debug, info, warn, error; default "
			     "info).\n");
		break;
	case CONFIG_CMD_MIGRATE:
		fprintf(out,
			"Usage: tandem migrate [FLAGS]\n\n"
			"Applies every NNNN_name.sql of the migrations folder that is not yet "
			"recorded in\nschema_migrations, in order, each in its own transaction, "
			"then exits.\nStops at the first failure (exit status 1).\n\nFlags:\n");
		usage_options(out, FOR_MIGRATE);
		break;
	default:
		fprintf(out,
			"Usage: tandem COMMAND [FLAGS]\n\n"
			"Tandem: a realtime pair-programming room server.\n\n"
			"Commands:\n"
			"  serve      run the server (tandem serve --help)\n"
			"  migrate    apply database migrations and exit (tandem migrate --help)\n"
			"  help       this help; 'tandem help serve' for one command\n"
			"  version    print the version\n\n"
			"Flags of 'serve' (flags win over environment variables):\n");
		usage_options(out, FOR_SERVE);
		fprintf(out, "\nEnvironment only: TANDEM_LOG_LEVEL (debug, info, warn, error; "
			     "default info).\n");
		break;
	}
}

void config_log(const struct tandem_config *cfg)
{
	if (cfg->secret_generated)
		log_event(LOG_WARN, "config.dev", "msg=%s",
			  "--dev: random token secret; tokens die with this process");
	if (cfg->admin_key_generated)
		log_event(LOG_WARN, "config.dev", "msg=%s admin_key=%s",
			  "--dev: random admin key (never use --dev in production)",
			  cfg->admin_key);
	log_event(LOG_INFO, "config",
		  "listen=%s redis=%s public_url=%s static=%s judge_workers=%u user=%s "
		  "left_after_ms=%" PRIu64 " heartbeat_ms=%" PRIu64 " ack_delay_ms=%" PRIu64
		  " join_timeout_ms=%" PRIu64
		  " max_frame=%zu max_doc=%zu ops_per_s=%u runs_per_min=%u",
		  cfg->listen, cfg->redis_url, cfg->public_url, cfg->static_dir, cfg->judge_workers,
		  cfg->user, cfg->left_after_ms, cfg->heartbeat_ms, cfg->ack_delay_ms,
		  cfg->join_timeout_ms, cfg->max_frame, cfg->max_doc, cfg->ops_per_s,
		  cfg->runs_per_min);
}

const char *config_version(void)
{
	return TANDEM_VERSION;
}
