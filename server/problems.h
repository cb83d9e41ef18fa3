/*
 * problems.h - the problem bank on the server side: `tandem problems`
 * (problems-cli.c) and storing a validated problem as a new revision.
 */
#ifndef TANDEM_PROBLEMS_H
#define TANDEM_PROBLEMS_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

struct problem;

/*
 * `tandem problems import|check|list ...` (argv[0] is "problems").  Returns
 * the exit status: 0, 1 when anything was refused or failed, 2 on bad usage.
 */
int problems_main(int argc, char **argv);

/*
 * Stores p in one transaction on a blocking connection (commands and tests
 * only, never the serving loop): a new revision when its content differs
 * from the newest stored one, else nothing (an archived problem is
 * restored).  Sets *revision (the newest) and *changed.  Returns 0, or -1
 * with a one-line reason in err; nothing of p is then stored.
 */
int problems_store(PGconn *c, const struct problem *p, int *revision, bool *changed, char *err,
		   size_t errlen);

#endif
