/*
 * test-config.c - the command line and environment of `tandem`.
 *
 * Pins down the stable interface: every flag and variable named in the
 * issue is parsed, documented in --help, defaults as documented, flags win
 * over variables, and bad values give one clear line naming the flag or
 * variable and the value.  The environment is passed explicitly, so the
 * test never depends on the caller's.
 */
#include <string.h>

#include "check.h"
#include "config.h"

static char errbuf[512];

#define ARGV(...) ((const char *[]){ "tandem", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((const char *[]){ "tandem", __VA_ARGS__ }) / sizeof(char *)))

static const char *const no_env[] = { NULL };

/* config_parse() takes main()'s non-const argv; the literals here are never written. */
static int parse(struct tandem_config *c, int argc, const char **argv, const char *const *env)
{
	return config_parse(c, argc, (char **)argv, (char *const *)env, errbuf, sizeof(errbuf));
}

static void test_defaults(void)
{
	struct tandem_config c;
	int rc = parse(&c, ARGC("serve", "--dev"), ARGV("serve", "--dev"), no_env);

	REQUIRE(rc == 0, "serve --dev: %s", errbuf);
	CHECK(c.command == CONFIG_CMD_SERVE, "command %d", c.command);
	CHECK(strcmp(c.listen, "127.0.0.1:8080") == 0, "listen %s", c.listen);
	CHECK(strcmp(c.listen_host, "127.0.0.1") == 0 && c.listen_port == 8080, "%s %d",
	      c.listen_host, c.listen_port);
	CHECK(strcmp(c.redis_url, "redis://127.0.0.1:6390") == 0, "redis %s", c.redis_url);
	CHECK(strcmp(c.redis_host, "127.0.0.1") == 0 && c.redis_port == 6390 && c.redis_db == 0,
	      "redis %s %d %d", c.redis_host, c.redis_port, c.redis_db);
	CHECK(strcmp(c.pg, "host=127.0.0.1 port=5490 dbname=tandem user=postgres sslmode=disable "
			   "gssencmode=disable") == 0,
	      "pg %s", c.pg);
	CHECK(c.judge_workers == 4, "workers %u", c.judge_workers);
	CHECK(strcmp(c.user, "nobody") == 0, "user %s", c.user);
	CHECK(strcmp(c.public_url, "http://127.0.0.1:8080") == 0, "public %s", c.public_url);
	CHECK(strstr(c.static_dir, "frontend/dist") != NULL, "static %s", c.static_dir);
	CHECK(strstr(c.migrations_dir, "migrations") != NULL, "migrations %s", c.migrations_dir);
	CHECK(c.left_after_ms == 300000, "left %llu", (unsigned long long)c.left_after_ms);
	CHECK(c.heartbeat_ms == 10000, "heartbeat %llu", (unsigned long long)c.heartbeat_ms);
	CHECK(c.join_timeout_ms == 10000, "join %llu", (unsigned long long)c.join_timeout_ms);
	CHECK(c.max_frame == 1048576 && c.max_doc == 1048576, "%zu %zu", c.max_frame, c.max_doc);
	CHECK(c.ops_per_s == 200 && c.runs_per_min == 10, "%u %u", c.ops_per_s, c.runs_per_min);
	CHECK(c.dev && c.secret_generated && c.admin_key_generated, "dev");
	CHECK(c.secret != NULL && strlen(c.secret) == 32, "secret");
	CHECK(c.admin_key != NULL && strlen(c.admin_key) == 32 && strcmp(c.secret, c.admin_key),
	      "admin key");
	config_finish(&c);
	config_finish(&c);
	config_finish(NULL);
}

static void test_required(void)
{
	struct tandem_config c;
	int rc;

	rc = parse(&c, ARGC("serve"), ARGV("serve"), no_env);
	CHECK(rc == CONFIG_E_USAGE, "no secret: %d", rc);
	CHECK(strstr(errbuf, "TANDEM_SECRET") && strstr(errbuf, "--secret"), "message: %s", errbuf);
	config_finish(&c);

	rc = parse(&c, ARGC("serve", "--secret", "s"), ARGV("serve", "--secret", "s"), no_env);
	CHECK(rc == CONFIG_E_USAGE && strstr(errbuf, "TANDEM_ADMIN_KEY"), "no key: %s", errbuf);
	config_finish(&c);

	const char *const env[] = { "TANDEM_SECRET=sec", "TANDEM_ADMIN_KEY=adm", NULL };
	rc = parse(&c, ARGC("serve"), ARGV("serve"), env);
	CHECK(rc == 0, "from env: %s", errbuf);
	CHECK(rc == 0 && strcmp(c.secret, "sec") == 0 && strcmp(c.admin_key, "adm") == 0 &&
		      !c.secret_generated,
	      "values");
	config_finish(&c);

	/* --dev keeps a given secret. */
	rc = parse(&c, ARGC("serve", "--dev", "--secret", "mine"),
		   ARGV("serve", "--dev", "--secret", "mine"), no_env);
	CHECK(rc == 0 && strcmp(c.secret, "mine") == 0 && !c.secret_generated &&
		      c.admin_key_generated,
	      "dev with secret");
	config_finish(&c);

	/* migrate needs neither. */
	rc = parse(&c, ARGC("migrate"), ARGV("migrate"), no_env);
	CHECK(rc == 0 && c.command == CONFIG_CMD_MIGRATE, "migrate: %s", errbuf);
	config_finish(&c);
}

static void test_env_and_flags(void)
{
	struct tandem_config c;
	const char *const env[] = {
		"TANDEM_LISTEN=0.0.0.0:9000",
		"TANDEM_REDIS_URL=redis://10.0.0.5:7000/3",
		"TANDEM_PG=host=10.0.0.6 dbname=x",
		"TANDEM_SECRET=env-secret",
		"TANDEM_ADMIN_KEY=env-key",
		"TANDEM_STATIC=/srv/static",
		"TANDEM_JUDGE_WORKERS=8",
		"TANDEM_USER=tandem",
		"TANDEM_PUBLIC_URL=https://tandem.example/",
		"TANDEM_MIGRATIONS=/srv/migrations",
		"TANDEM_LEFT_AFTER_MS=200",
		"TANDEM_HEARTBEAT_MS=50",
		"TANDEM_JOIN_TIMEOUT_MS=300",
		"TANDEM_MAX_FRAME=64K",
		"TANDEM_MAX_DOC=2MiB",
		"TANDEM_OPS_PER_S=7",
		"TANDEM_RUNS_PER_MIN=3",
		"TANDEM_LISTENX=garbage",
		NULL,
	};
	int rc = parse(&c, ARGC("serve"), ARGV("serve"), env);

	REQUIRE(rc == 0, "env: %s", errbuf);
	CHECK(strcmp(c.listen_host, "0.0.0.0") == 0 && c.listen_port == 9000, "listen");
	CHECK(strcmp(c.redis_host, "10.0.0.5") == 0 && c.redis_port == 7000 && c.redis_db == 3,
	      "redis");
	CHECK(strcmp(c.pg, "host=10.0.0.6 dbname=x") == 0, "pg");
	CHECK(strcmp(c.static_dir, "/srv/static") == 0, "static");
	CHECK(c.judge_workers == 8 && strcmp(c.user, "tandem") == 0, "workers/user");
	CHECK(strcmp(c.public_url, "https://tandem.example") == 0, "public %s", c.public_url);
	CHECK(strcmp(c.migrations_dir, "/srv/migrations") == 0, "migrations");
	CHECK(c.left_after_ms == 200 && c.heartbeat_ms == 50 && c.join_timeout_ms == 300, "ms");
	CHECK(c.max_frame == 65536 && c.max_doc == 2097152, "sizes %zu %zu", c.max_frame,
	      c.max_doc);
	CHECK(c.ops_per_s == 7 && c.runs_per_min == 3, "rates");
	config_finish(&c);

	/* Flags win over the environment, in both spellings. */
	rc = parse(&c, ARGC("serve", "--listen", "127.0.0.1:1234", "--judge-workers=2", "--user=u"),
		   ARGV("serve", "--listen", "127.0.0.1:1234", "--judge-workers=2", "--user=u"),
		   env);
	REQUIRE(rc == 0, "flags: %s", errbuf);
	CHECK(c.listen_port == 1234 && c.judge_workers == 2 && strcmp(c.user, "u") == 0,
	      "flags win");
	CHECK(strcmp(c.public_url, "https://tandem.example") == 0, "env public url kept");
	config_finish(&c);

	/* IPv6, port 0, a Redis URL without port or database. */
	rc = parse(&c, ARGC("serve", "--dev", "--listen", "[::1]:0", "--redis", "redis://[::1]"),
		   ARGV("serve", "--dev", "--listen", "[::1]:0", "--redis", "redis://[::1]"),
		   no_env);
	REQUIRE(rc == 0, "ipv6: %s", errbuf);
	CHECK(strcmp(c.listen_host, "::1") == 0 && c.listen_port == 0, "listen v6 %s %d",
	      c.listen_host, c.listen_port);
	CHECK(strcmp(c.redis_host, "::1") == 0 && c.redis_port == 6379, "redis v6 %s %d",
	      c.redis_host, c.redis_port);
	CHECK(strcmp(c.public_url, "http://[::1]:0") == 0, "public %s", c.public_url);
	config_finish(&c);
}

static void test_bad_values(void)
{
	static const struct {
		const char *flag, *value, *want;
	} cases[] = {
		{ "--listen", "x", "tandem: --listen: expected HOST:PORT, got 'x'" },
		{ "--listen", ":80", "expected HOST:PORT" },
		{ "--listen", "h:", "expected HOST:PORT" },
		{ "--listen", "h:65536", "expected HOST:PORT" },
		{ "--listen", "h:8x", "expected HOST:PORT" },
		{ "--listen", "::1:80", "expected HOST:PORT" },
		{ "--redis", "http://h:1",
		  "--redis: expected redis://HOST:PORT[/DB], got 'http://h:1'" },
		{ "--redis", "redis://", "expected redis://" },
		{ "--redis", "redis://h:1/x", "database must be a number" },
		{ "--redis", "redis://u:p@h:1", "credentials" },
		{ "--judge-workers", "0", "--judge-workers: expected a whole number" },
		{ "--judge-workers", "-1", "expected a whole number" },
		{ "--judge-workers", "4x", "expected a whole number" },
		{ "--left-after-ms", "", "expected a number of milliseconds" },
		{ "--heartbeat-ms", "1.5", "expected a number of milliseconds" },
		{ "--max-frame", "0", "--max-frame: expected a size" },
		{ "--max-frame", "1T", "expected a size" },
		{ "--max-doc", "99999999999999999999999", "expected a size" },
		{ "--pg", "", "--pg: must not be empty" },
		{ "--public-url", "ftp://x", "--public-url: expected http" },
	};
	struct tandem_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { "tandem",      "serve",	      "--dev",
				       cases[i].flag, cases[i].value, NULL };
		int rc = parse(&c, 5, argv, no_env);
		CHECK(rc == CONFIG_E_USAGE, "%s %s: rc %d", cases[i].flag, cases[i].value, rc);
		CHECK(strstr(errbuf, cases[i].want) != NULL && strchr(errbuf, '\n') == NULL,
		      "%s '%s': message '%s', want '%s'", cases[i].flag, cases[i].value, errbuf,
		      cases[i].want);
		config_finish(&c);
	}

	const char *const env[] = { "TANDEM_LEFT_AFTER_MS=soon", NULL };
	int rc = parse(&c, ARGC("serve", "--dev"), ARGV("serve", "--dev"), env);
	CHECK(rc == CONFIG_E_USAGE && strstr(errbuf, "TANDEM_LEFT_AFTER_MS") &&
		      strstr(errbuf, "'soon'"),
	      "env error: %s", errbuf);
	config_finish(&c);
	/* A bad variable does not matter when the flag overrides it. */
	rc = parse(&c, ARGC("serve", "--dev", "--left-after-ms", "5"),
		   ARGV("serve", "--dev", "--left-after-ms", "5"), env);
	CHECK(rc == 0 && c.left_after_ms == 5, "flag over bad env: %s", errbuf);
	config_finish(&c);

	const struct {
		int argc;
		const char **argv;
		const char *want;
	} usage[] = {
		{ 1, (const char *[]){ "tandem", NULL }, "missing command" },
		{ 2, (const char *[]){ "tandem", "launch", NULL }, "unknown command 'launch'" },
		{ 3, (const char *[]){ "tandem", "serve", "--nope", NULL },
		  "--nope: unknown flag" },
		{ 3, (const char *[]){ "tandem", "serve", "--nope=1", NULL },
		  "--nope: unknown flag" },
		{ 3, (const char *[]){ "tandem", "serve", "extra", NULL },
		  "unexpected argument 'extra'" },
		{ 3, (const char *[]){ "tandem", "serve", "--listen", NULL },
		  "--listen: missing value" },
		{ 4, (const char *[]){ "tandem", "migrate", "--listen", "h:1", NULL },
		  "--listen: not a flag of 'tandem migrate'" },
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		rc = parse(&c, usage[i].argc, usage[i].argv, no_env);
		CHECK(rc == CONFIG_E_USAGE && strstr(errbuf, usage[i].want) != NULL &&
			      strncmp(errbuf, "tandem: ", 8) == 0,
		      "case %zu: rc %d '%s', want '%s'", i, rc, errbuf, usage[i].want);
		config_finish(&c);
	}
}

static void test_help(void)
{
	/* The stable interface: each of these must appear in the help of serve. */
	static const char *const documented[] = {
		"--listen",
		"TANDEM_LISTEN",
		"--redis",
		"TANDEM_REDIS_URL",
		"--pg",
		"TANDEM_PG",
		"--secret",
		"TANDEM_SECRET",
		"--admin-key",
		"TANDEM_ADMIN_KEY",
		"--dev",
		"--static",
		"TANDEM_STATIC",
		"--judge-workers",
		"TANDEM_JUDGE_WORKERS",
		"--user",
		"TANDEM_USER",
		"--public-url",
		"TANDEM_PUBLIC_URL",
		"--migrations",
		"TANDEM_MIGRATIONS",
		"--left-after-ms",
		"TANDEM_LEFT_AFTER_MS",
		"--heartbeat-ms",
		"--join-timeout-ms",
		"--max-frame",
		"--max-doc",
		"--ops-per-s",
		"--runs-per-min",
		"TANDEM_LOG_LEVEL",
		"127.0.0.1:8080",
		"redis://127.0.0.1:6390",
		"300000",
		"nobody",
	};
	struct tandem_config c;
	int rc;

	rc = parse(&c, ARGC("--help"), ARGV("--help"), no_env);
	CHECK(rc == 0 && c.command == CONFIG_CMD_HELP && c.help_topic == CONFIG_CMD_HELP, "--help");
	config_finish(&c);
	rc = parse(&c, ARGC("serve", "--secret", "x", "--help"),
		   ARGV("serve", "--secret", "x", "--help"), no_env);
	CHECK(rc == 0 && c.command == CONFIG_CMD_HELP && c.help_topic == CONFIG_CMD_SERVE,
	      "serve --help");
	config_finish(&c);
	rc = parse(&c, ARGC("help", "migrate"), ARGV("help", "migrate"), no_env);
	CHECK(rc == 0 && c.command == CONFIG_CMD_HELP && c.help_topic == CONFIG_CMD_MIGRATE,
	      "help migrate");
	config_finish(&c);
	rc = parse(&c, ARGC("--version"), ARGV("--version"), no_env);
	CHECK(rc == 0 && c.command == CONFIG_CMD_VERSION, "--version");
	CHECK(strlen(config_version()) > 0, "version");
	config_finish(&c);

	enum config_command topics[] = { CONFIG_CMD_HELP, CONFIG_CMD_SERVE };
	for (size_t t = 0; t < 2; t++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		REQUIRE(f != NULL, "open_memstream");
		config_usage(f, topics[t]);
		fclose(f);
		for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
			CHECK(strstr(text, documented[i]) != NULL, "topic %zu lacks %s", t,
			      documented[i]);
		free(text);
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_usage(f, CONFIG_CMD_MIGRATE);
	fclose(f);
	CHECK(strstr(text, "--pg") && strstr(text, "--migrations") && !strstr(text, "--listen"),
	      "migrate help:\n%s", text);
	free(text);
}

int main(void)
{
	test_defaults();
	test_required();
	test_env_and_flags();
	test_bad_values();
	test_help();
	CHECK_DONE();
}
