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

/* Stores a problem given its arguments (problems_args()); one statement. */
#define PROBLEMS_STORE_SQL "SELECT revision, changed FROM problem_store($1, $2, $3, $4, $5, $6, $7)"
#define PROBLEMS_NARGS	   7

/*
 * The text arguments of PROBLEMS_STORE_SQL for p (new strings; free them
 * with problems_args_free()).  Returns 0, or -1 on OOM.
 */
int problems_args(const struct problem *p, char *args[PROBLEMS_NARGS]);
void problems_args_free(char *args[PROBLEMS_NARGS]);

#endif
