/*
 * test-complexity.c - the complexity estimate classifies reference
 * solutions of known class (the .py files of tests/problems/growth/classes: constant,
 * bisect, linear, merge sort, pair loop, triple loop, subsets) correctly in
 * at least 19 of 20 repeats each.
 *
 * --load also keeps a second process spinning on a core for the whole run,
 * as another tenant of the machine would.  Needs root and cgroups (as the
 * judge does); exits 77 without them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "problem.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	REQUIRE(f, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	REQUIRE(s && fread(s, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	s[n] = '\0';
	fclose(f);
	return s;
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2, "usage: test-complexity FIXTURES_DIR [--load] [--repeats N]");
	int repeats = 20;
	bool load = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--load"))
			load = true;
		else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
			repeats = atoi(argv[++i]);
	}
	struct judge_config cfg = { .pool_size = 3 };
	struct judge *j;
	int rc = judge_create(&cfg, &j);
	if (rc == JUDGE_EPRIV || rc == JUDGE_ENOCGROUP) {
		fprintf(stderr, "skip: %s\n", judge_strerror(rc));
		return 77;
	}
	REQUIRE(rc == 0, "judge_create: %s", judge_strerror(rc));

	char path[512];
	struct problem *p;
	json_t *errors = json_array();
	snprintf(path, sizeof(path), "%s/growth", argv[1]);
	REQUIRE(problem_load(path, &p, errors) == 0, "growth does not load");
	json_decref(errors);

	pid_t loader = -1;
	if (load) {
		loader = fork();
		REQUIRE(loader >= 0, "fork");
		if (loader == 0) {
			for (volatile unsigned long x = 0;; x++)
				;
		}
	}

	static const struct {
		const char *file, *cls;
	} refs[] = {
		{ "o1.py", "O(1)" },	      { "logn.py", "O(log n)" }, { "n.py", "O(n)" },
		{ "nlogn.py", "O(n log n)" }, { "n2.py", "O(n^2)" },	 { "n3.py", "O(n^3)" },
		{ "exp.py", "O(2^n)" },
	};
	for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
		snprintf(path, sizeof(path), "%s/growth/classes/%s", argv[1], refs[r].file);
		char *code = slurp(path);
		int right = 0;
		double worst_wall = 0;
		for (int k = 0; k < repeats; k++) {
			json_t *o = problem_complexity(j, p, code, strlen(code));
			REQUIRE(o, "problem_complexity returned NULL");
			const char *c = json_string_value(json_object_get(o, "class"));
			double wall = json_number_value(json_object_get(o, "wall_ms"));
			if (wall > worst_wall)
				worst_wall = wall;
			if (c && !strcmp(c, refs[r].cls)) {
				right++;
			} else {
				char *s = json_dumps(o, JSON_COMPACT);
				fprintf(stderr, "%s: %s\n", refs[r].file, s);
				free(s);
			}
			json_decref(o);
		}
		printf("%-9s %-11s %d/%d right, slowest %.0f ms wall%s\n", refs[r].file,
		       refs[r].cls, right, repeats, worst_wall, load ? " (a core loaded)" : "");
		CHECK(right * 20 >= repeats * 19, "%s classified %s in %d of %d repeats",
		      refs[r].file, refs[r].cls, right, repeats);
		free(code);
	}
	if (loader > 0) {
		kill(loader, SIGKILL);
		waitpid(loader, NULL, 0);
	}
	problem_destroy(p);
	judge_destroy(j);
	CHECK_DONE();
}
